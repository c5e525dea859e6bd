"""Role metadata stays in step: argument_specs vs defaults, the apps spec vs the filter, template headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.appmount.wsgi.plugins.plugin_utils import appspec

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (REPO_ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
TEMPLATES = sorted(p for p in (REPO_ROOT / "roles").glob("*/templates/**/*") if p.is_file())
ANSIBLE_MANAGED = "{{ ansible_managed | comment }}"
PY_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "path": (str,),
    "int": (int,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
    "raw": (str, int),  # a size or count that may be written as a number or as a word (infinity)
}

Options = dict[str, dict[str, Any]]


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def spec_options(role: str, entry_point: str = "main") -> Options:
    specs = load_yaml(REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    return specs[entry_point]["options"]


def all_options(role: str) -> Options:
    """The options of every entry point of the role; one option has one spec wherever it appears."""
    specs = load_yaml(REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    merged: Options = {}
    for entry in specs.values():
        for name, spec in (entry.get("options") or {}).items():
            if name in merged:
                assert (merged[name]["type"], merged[name].get("default")) == (spec["type"], spec.get("default")), \
                    f"{role}: {name} differs between entry points"
            merged.setdefault(name, spec)
    return merged


def role_defaults(role: str) -> dict[str, Any]:
    return load_yaml(REPO_ROOT / "roles" / role / "defaults" / "main.yml") or {}


def walk_options(options: Options, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every option and sub-option as (dotted name, spec)."""
    for name, spec in options.items():
        yield prefix + name, spec
        yield from walk_options(spec.get("options") or {}, f"{prefix}{name}.")


def test_roles_found() -> None:
    assert ROLES == ["apps", "balancer", "nginx", "uwsgi"]
    assert TEMPLATES


@pytest.mark.parametrize("role", ROLES)
def test_spec_and_defaults_have_same_keys(role: str) -> None:
    # an option only some entry points take (apps_rollback) may have no default
    options = {name for name, spec in all_options(role).items() if "default" in spec or name in spec_options(role)}
    assert options == set(role_defaults(role))


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_defaults_file(role: str) -> None:
    defaults = role_defaults(role)
    for name, spec in all_options(role).items():
        if name not in spec_options(role) and "default" not in spec:
            continue
        assert "default" in spec, f"{role}: {name} has no default in argument_specs"
        assert spec["default"] == defaults.get(name), f"{role}: {name}"


@pytest.mark.parametrize("role", ROLES)
def test_every_option_has_description_and_type(role: str) -> None:
    for name, spec in walk_options(spec_options(role)):
        assert spec.get("description"), f"{role}: {name} has no description"
        assert spec.get("type") in PY_TYPES, f"{role}: {name} has no known type"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_declared_type(role: str) -> None:
    for name, spec in walk_options(spec_options(role)):
        if "default" in spec:
            value = spec["default"]
            ok = isinstance(value, PY_TYPES[spec["type"]]) and not (spec["type"] == "int" and isinstance(value, bool))
            assert ok, f"{role}: {name} default {value!r} is not a {spec['type']}"


def test_the_filter_reads_the_app_schema_from_the_spec() -> None:
    assert appspec.app_options() == spec_options("apps")["appmount_apps"]["options"]
    assert appspec.app_defaults() == {"state": "present", "packages": [], "env": {}, "static": [], "hooks": [],
                                      "scope_cookies": True, "prefix_check": True}


def test_rollback_entry_point_needs_the_app() -> None:
    assert spec_options("apps", "rollback")["apps_rollback"]["required"] is True


@pytest.mark.parametrize("template", TEMPLATES, ids=[str(t.relative_to(REPO_ROOT / "roles")) for t in TEMPLATES])
def test_template_starts_with_ansible_managed(template: Path) -> None:
    lines: list[str] = template.read_text(encoding="utf-8").splitlines()
    assert lines, f"{template} is empty"
    # a script keeps its shebang first
    assert lines[1 if lines[0].startswith("#!") else 0] == ANSIBLE_MANAGED
