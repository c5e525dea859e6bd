"""The app_deploy action plugin (code ids, archives) and the host-side Deployer's file handling."""

from __future__ import annotations

import grp
import os
import subprocess
import tarfile
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest


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


def test_code_id_ignores_caches_and_vcs(deploy_action: ModuleType, tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    first = deploy_action.code_id(str(root))
    (root / "__pycache__" / "other.pyc").write_bytes(b"\1")
    (root / ".git" / "HEAD").write_text("other\n")
    assert deploy_action.code_id(str(root)) == first
    assert [rel for rel, _full in deploy_action.source_files(str(root))] == ["app.py", "pkg/views.py"]


@pytest.mark.parametrize("change", ["content", "name", "mode"])
def test_code_id_follows_the_code(deploy_action: ModuleType, tmp_path: Path, change: str) -> None:
    root = tree(tmp_path / "a")
    before = deploy_action.code_id(str(root))
    if change == "content":
        (root / "app.py").write_text("app = 1\n")
    elif change == "name":
        (root / "app.py").rename(root / "main.py")
    else:
        (root / "app.py").chmod(0o755)
    assert deploy_action.code_id(str(root)) != before


def test_archive_is_root_owned_with_plain_modes(deploy_action: ModuleType, tmp_path: Path) -> None:
    root = tree(tmp_path / "a")
    (root / "app.py").chmod(0o700)
    dest = tmp_path / "code.tar.gz"
    deploy_action.archive(str(root), str(dest))
    with tarfile.open(dest) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["app.py", "pkg/views.py"]
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "root")}
    assert (members["app.py"].mode, members["pkg/views.py"].mode) == (0o755, 0o644)


class FailJson(Exception):
    pass


def deployer(deploy_module: ModuleType, check: bool = False) -> Any:
    def fail_json(**kwargs: Any) -> None:
        raise FailJson(kwargs["msg"])

    return deploy_module.Deployer(SimpleNamespace(check_mode=check, fail_json=fail_json))


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
def test_write_is_idempotent_and_reports_a_diff(deploy_module: ModuleType, tmp_path: Path) -> None:
    d = deployer(deploy_module)
    path = str(tmp_path / "etc" / "app.ini")
    assert d.write(path, "a = 1\n", 0o640, "uwsgi") is True
    assert d.write(path, "a = 1\n", 0o640, "uwsgi") is False
    assert d.write(path, "a = 2\n", 0o640, "uwsgi") is True
    assert d.diffs[-1]["before"] == "a = 1\n" and d.diffs[-1]["after"] == "a = 2\n"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    assert not d.nginx_changed


@pytest.mark.skipif(os.geteuid() != 0, reason="files are chowned")
def test_write_sets_the_group_and_counts_it_as_a_change(deploy_module: ModuleType, tmp_path: Path) -> None:
    d = deployer(deploy_module)
    path = str(tmp_path / "app.ini")
    assert d.write(path, "a = 1\n", 0o640, "uwsgi", "nogroup") is True
    assert os.stat(path).st_gid == grp.getgrnam("nogroup").gr_gid
    assert d.write(path, "a = 1\n", 0o640, "uwsgi", "nogroup") is False
    assert d.write(path, "a = 1\n", 0o640, "uwsgi") is True  # back to root:root
    assert os.stat(path).st_gid == 0


def test_check_mode_changes_nothing(deploy_module: ModuleType, tmp_path: Path) -> None:
    d = deployer(deploy_module, check=True)
    assert d.write(str(tmp_path / "site.conf"), "x\n", 0o644, "nginx") is True
    assert d.link(str(tmp_path / "enabled.conf"), str(tmp_path / "site.conf"), "nginx") is True
    assert d.changed and d.nginx_changed
    assert list(tmp_path.iterdir()) == []


def test_link_replaces_atomically_and_remove_records_nginx_undo(deploy_module: ModuleType, tmp_path: Path) -> None:
    d = deployer(deploy_module)
    link = tmp_path / "current"
    assert d.link(str(link), "releases/a", "release")
    assert d.link(str(link), "releases/b", "release")
    assert not d.link(str(link), "releases/b", "release")
    assert os.readlink(link) == "releases/b"
    assert d.remove(str(link), "nginx") and not link.exists()
    assert d.nginx_undo[-1] == ("link", str(link), "releases/b")


def test_release_id_follows_code_packages_and_callable(deploy_module: ModuleType) -> None:
    app = {"packages": ["flask"], "module": "app:app"}
    base = deploy_module.Deployer.release_id(app, "c1")
    assert deploy_module.Deployer.release_id(dict(app), "c1") == base
    assert deploy_module.Deployer.release_id(app, "c2") != base
    assert deploy_module.Deployer.release_id(dict(app, packages=["flask<3"]), "c1") != base
    assert deploy_module.Deployer.release_id(dict(app, module="app:wsgi"), "c1") != base


def test_prune_keeps_the_newest_and_the_current(deploy_module: ModuleType, tmp_path: Path) -> None:
    home = tmp_path / "blog"
    for rid in ("r1", "r2", "r3", "r4"):
        (home / "releases" / rid).mkdir(parents=True)
    deploy_module.Deployer.save_history(str(home), ["r1", "r2", "r3", "r4"])
    (home / "current").symlink_to("releases/r1")  # rolled back to the oldest
    d = deployer(deploy_module)
    d.prune({"home": str(home), "name": "blog"}, 2)
    assert sorted(p.name for p in (home / "releases").iterdir()) == ["history", "r1", "r3", "r4"]
    assert deploy_module.Deployer.history(str(home)) == ["r1", "r3", "r4"]


def test_rollback_walks_back_through_the_history(deploy_module: ModuleType, tmp_path: Path) -> None:
    home = tmp_path / "blog"
    for rid in ("r1", "r2", "r3"):
        (home / "releases" / rid).mkdir(parents=True)
        (home / "releases" / rid / "code-id").write_text("c\n")
    deploy_module.Deployer.save_history(str(home), ["r1", "r2", "r3"])
    (home / "current").symlink_to("releases/r3")
    app = {"home": str(home), "name": "blog", "chain_reload": str(home / ".chain-reload")}
    for expected in ("r2", "r1"):
        d = deployer(deploy_module)
        d.rollback(app)
        assert os.readlink(home / "current") == f"releases/{expected}"
    d = deployer(deploy_module)
    d.rollback(app)  # the release rolled back from first is the oldest now
    assert os.readlink(home / "current") == "releases/r3"


def test_rollback_without_an_older_release_fails(deploy_module: ModuleType, tmp_path: Path) -> None:
    home = tmp_path / "blog"
    (home / "releases" / "r1").mkdir(parents=True)
    (home / "releases" / "r1" / "code-id").write_text("c\n")
    deploy_module.Deployer.save_history(str(home), ["r1"])
    (home / "current").symlink_to("releases/r1")
    with pytest.raises(FailJson, match="no previous release"):
        deployer(deploy_module).rollback({"home": str(home), "name": "blog", "chain_reload": ""})


def test_instances_locked_holds_the_watchdogs_lock(deploy_module: ModuleType, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "lock" / "appmount-uwsgi.lock"
    monkeypatch.setattr(deploy_module, "LOCK", str(lock))
    busy = ["flock", "-n", str(lock), "true"]  # what a watchdog round tries first
    with deployer(deploy_module).instances_locked():
        assert subprocess.run(busy, check=False).returncode == 1
    assert subprocess.run(busy, check=False).returncode == 0
    with deployer(deploy_module, check=True).instances_locked():  # check mode takes no lock
        assert subprocess.run(busy, check=False).returncode == 0


@pytest.mark.parametrize(("pids", "starts"), [([None, None, 4242], True), ([None], False)])
def test_a_start_the_init_script_calls_failed_counts_once_a_master_runs(
    deploy_module: ModuleType, monkeypatch: pytest.MonkeyPatch, pids: list[int | None], starts: bool
) -> None:
    d = deployer(deploy_module)
    monkeypatch.setattr(deploy_module, "START_GRACE_S", 0.5)
    monkeypatch.setattr(d, "run", lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "uwsgi -> ! failed!", ""))
    answers = iter(pids)
    monkeypatch.setattr(d, "master_pid", lambda name: next(answers, pids[-1]))
    if starts:
        d.init("start", "blog")
        assert d.report["blog"]["action"] == "started"
    else:
        with pytest.raises(FailJson, match="uwsgi start blog failed: uwsgi -> ! failed!"):
            d.init("start", "blog")
    with pytest.raises(FailJson):  # a failed reload is never excused
        d.init("reload", "blog")
