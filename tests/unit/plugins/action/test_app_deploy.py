"""The app_deploy action plugin (controller side): code ids and the archives of ``source.path`` apps."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from ansible_collections.appmount.wsgi.plugins.action.app_deploy import archive, code_id, source_files


def tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("app = None\n")
    (root / "pkg" / "views.py").write_text("x = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref\n")
    (root / "stale.pyc").write_bytes(b"\0")
    return root


def test_code_id_ignores_caches_and_vcs(tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    first = code_id(str(root))
    (root / "__pycache__" / "other.pyc").write_bytes(b"\1")
    (root / ".git" / "HEAD").write_text("other\n")
    assert code_id(str(root)) == first
    assert [rel for rel, _full in source_files(str(root))] == ["app.py", "pkg/views.py"]


@pytest.mark.parametrize("change", ["content", "name", "mode"])
def test_code_id_follows_the_code(tmp_path: Path, change: str) -> None:
    root = tree(tmp_path / "a")
    before = code_id(str(root))
    if change == "content":
        (root / "app.py").write_text("app = 1\n")
    elif change == "name":
        (root / "app.py").rename(root / "main.py")
    else:
        (root / "app.py").chmod(0o755)
    assert code_id(str(root)) != before


def test_archive_is_root_owned_with_plain_modes(tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    (root / "app.py").chmod(0o700)
    dest = tmp_path / "code.tar.gz"
    archive(str(root), str(dest))
    with tarfile.open(dest) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["app.py", "pkg/views.py"]
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "root")}
    assert (members["app.py"].mode, members["pkg/views.py"].mode) == (0o755, 0o644)
