"""tools/role_docs.py: the generated role docs are current, and the generator renders what the specs say."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_PATH = REPO_ROOT / "tools" / "role_docs.py"


@pytest.fixture(scope="module")
def role_docs() -> ModuleType:
    """``tools/role_docs.py`` as a module."""
    spec = importlib.util.spec_from_file_location("appmount_wsgi_role_docs", TOOL_PATH)
    assert spec is not None and spec.loader is not None, f"cannot load {TOOL_PATH}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def tree(tmp_path: Path, role_docs: ModuleType) -> Path:
    """A copy of the role specs and README.md, with the docs generated."""
    for spec in (REPO_ROOT / "roles").glob("*/meta/*.yml"):
        target = tmp_path / spec.relative_to(REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(spec, target)
    shutil.copy(REPO_ROOT / "README.md", tmp_path / "README.md")
    role_docs.write(tmp_path)
    return tmp_path


def test_generated_docs_are_current(role_docs: ModuleType) -> None:
    stale = role_docs.check(REPO_ROOT)
    assert stale == [], (f"stale generated docs {stale}: run `make docs` (python tools/role_docs.py) "
                         "and commit the result")


def test_check_reports_a_changed_spec(role_docs: ModuleType, tree: Path) -> None:
    assert role_docs.check(tree) == []
    spec_path = tree / "roles" / "nginx" / "meta" / "argument_specs.yml"
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    first = next(iter(spec["argument_specs"]["main"]["options"].values()))
    first["description"] = "A description changed without running make docs."
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert role_docs.check(tree) == ["roles/nginx/README.md", "README.md"]
    assert role_docs.main(["--check", "--root", str(tree)]) == 1
    assert role_docs.main(["--root", str(tree)]) == 0
    assert role_docs.main(["--check", "--root", str(tree)]) == 0


def test_check_reports_a_hand_edited_readme(role_docs: ModuleType, tree: Path) -> None:
    readme = tree / "roles" / "uwsgi" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nhand-written\n", encoding="utf-8")
    assert role_docs.check(tree) == ["roles/uwsgi/README.md"]


def test_readme_without_markers_is_an_error(role_docs: ModuleType, tree: Path) -> None:
    (tree / "README.md").write_text("# no markers\n", encoding="utf-8")
    assert role_docs.main(["--check", "--root", str(tree)]) == 2


def test_readme_keeps_text_outside_the_markers(role_docs: ModuleType, tree: Path) -> None:
    readme = tree / "README.md"
    readme.write_text(f"before\n{role_docs.BEGIN}\nhand-written table\n{role_docs.END}\nafter\n", encoding="utf-8")
    role_docs.write(tree)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(f"before\n{role_docs.BEGIN}\n") and text.endswith(f"{role_docs.END}\nafter\n")
    assert "| `source.path` | str |" in text and "hand-written table" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C(nginx -t) passes", "`nginx -t` passes"),
        ("see I(apps_root) and M(ansible.builtin.pip)", "see `apps_root` and `ansible.builtin.pip`"),
        ("O(state=absent) and V(present)", "`state=absent` and `present`"),
        ("B(never) U(https://example.invalid)", "**never** <https://example.invalid>"),
        ("L(docs,https://example.invalid/d)", "[docs](https://example.invalid/d)"),
        ("C(a`b)", "``a`b``"),
        ("ABC(x) stays", "ABC(x) stays"),
    ],
)
def test_markup(role_docs: ModuleType, text: str, expected: str) -> None:
    assert role_docs.markup(text) == expected


def test_apps_readme_has_a_row_per_nested_option(role_docs: ModuleType) -> None:
    text = (REPO_ROOT / "roles" / "apps" / "README.md").read_text(encoding="utf-8")
    for name in ("appmount_apps", "appmount_apps[].source.path", "appmount_apps[].static[].url",
                 "appmount_apps[].state"):
        assert f"| `{name}` |" in text, name
    assert "| `present`, `disabled`, `absent` |" in text
    assert "C(" not in text and "I(" not in text


def test_default_rendering(role_docs: ModuleType) -> None:
    assert role_docs.default_of({"required": True, "type": "str"}) == "required"
    assert role_docs.default_of({"type": "str"}) == ""
    assert role_docs.default_of({"default": [], "type": "list"}) == "`[]`"
    assert role_docs.default_of({"default": ["a", "b"], "type": "list"}) == "`[a, b]`"
    assert role_docs.default_of({"default": True, "type": "bool"}) == "`true`"
    assert role_docs.default_of({"default": "{{ x | y }}", "type": "str"}) == "`{{ x | y }}`"
    assert role_docs.cell("`{{ x | y }}`") == "`{{ x \\| y }}`"


def app_keys(options: dict[str, dict[str, object]], prefix: str = "") -> set[str]:
    keys = set()
    for name, spec in options.items():
        keys.add(prefix + name)
        keys |= app_keys(spec.get("options") or {}, f"{prefix}{name}.")  # type: ignore[arg-type]
    return keys


def test_ansible_doc_shows_every_app_key(role_docs: ModuleType) -> None:
    """``ansible-doc -t role appmount.wsgi.apps`` (collection found through ansible.cfg) documents every app key."""
    ansible_doc = Path(sys.executable).with_name("ansible-doc")
    if not ansible_doc.exists():
        pytest.skip("ansible-doc is not next to this Python")
    out = subprocess.run(
        [str(ansible_doc), "-t", "role", "--json", "appmount.wsgi.apps"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": str(ansible_doc.parent), "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
             "HOME": str(Path.home())},
    ).stdout
    shown = json.loads(out)["appmount.wsgi.apps"]["entry_points"]["main"]["options"]["appmount_apps"]["options"]
    spec = role_docs.entry_point(REPO_ROOT, "apps")["options"]["appmount_apps"]["options"]
    assert app_keys(shown) == app_keys(spec)
