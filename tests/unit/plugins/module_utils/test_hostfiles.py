"""Files, links and directories on the host: idempotence, diffs, check mode and nginx's undo list."""

from __future__ import annotations

import grp
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils import hostfiles
from ansible_collections.appmount.wsgi.plugins.module_utils.hostfiles import HostFiles
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")


@ROOT_ONLY
def test_write_is_idempotent_and_reports_a_diff(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run())
    path = str(tmp_path / "etc" / "app.ini")
    assert files.write(path, "a = 1\n", 0o640, "uwsgi") is True
    assert files.write(path, "a = 1\n", 0o640, "uwsgi") is False
    assert files.write(path, "a = 2\n", 0o640, "uwsgi") is True
    assert files.run.diffs[-1]["before"] == "a = 1\n" and files.run.diffs[-1]["after"] == "a = 2\n"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    assert not files.nginx_changed
    assert not os.path.lexists(f"{path}.appmount-tmp")


@ROOT_ONLY
def test_write_sets_the_group_and_counts_it_as_a_change(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run())
    path = str(tmp_path / "app.ini")
    assert files.write(path, "a = 1\n", 0o640, "uwsgi", "nogroup") is True
    assert os.stat(path).st_gid == grp.getgrnam("nogroup").gr_gid
    assert files.write(path, "a = 1\n", 0o640, "uwsgi", "nogroup") is False
    assert files.write(path, "a = 1\n", 0o640, "uwsgi") is True  # back to root:root
    assert os.stat(path).st_gid == 0


@ROOT_ONLY
def test_write_sets_the_mode_of_a_replaced_file(new_run: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "site.conf"
    path.write_text("x\n")
    path.chmod(0o600)
    files = HostFiles(new_run())
    assert files.write(str(path), "x\n", 0o644, "nginx") is True  # same content, other mode
    assert (path.stat().st_mode & 0o7777, path.read_text()) == (0o644, "x\n")
    assert files.nginx_undo == [("file", str(path), "x\n")]


def test_check_mode_changes_nothing(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run(check=True))
    assert files.write(str(tmp_path / "site.conf"), "x\n", 0o644, "nginx") is True
    assert files.link(str(tmp_path / "enabled.conf"), str(tmp_path / "site.conf"), "nginx") is True
    files.mkdir(str(tmp_path / "home"))
    assert files.run.changed and files.nginx_changed
    assert list(tmp_path.iterdir()) == []


def test_link_replaces_atomically_and_remove_records_nginx_undo(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run())
    link = tmp_path / "current"
    assert files.link(str(link), "releases/a", "release")
    assert files.link(str(link), "releases/b", "release")
    assert not files.link(str(link), "releases/b", "release")
    assert os.readlink(link) == "releases/b"
    assert files.run.diffs[-1]["before"] == "-> releases/a\n" and files.run.diffs[-1]["after"] == "-> releases/b\n"
    assert not files.nginx_changed
    assert files.remove(str(link), "nginx") and not link.exists()
    assert files.nginx_undo[-1] == ("link", str(link), "releases/b")
    assert files.nginx_changed


def test_remove_takes_directory_trees_and_ignores_what_is_gone(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run())
    (tmp_path / "home" / "releases" / "r1").mkdir(parents=True)
    assert files.remove(str(tmp_path / "home")) is True
    assert not (tmp_path / "home").exists()
    files.run.changed = False
    assert files.remove(str(tmp_path / "home")) is False
    assert not files.run.changed


@ROOT_ONLY
def test_mkdir_creates_and_repairs_owner_and_mode(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run())
    path = tmp_path / "data"
    files.mkdir(str(path), mode=0o750)
    assert (path.stat().st_mode & 0o7777, path.stat().st_uid, path.stat().st_gid) == (0o750, 0, 0)
    files.run.changed = False
    files.mkdir(str(path), mode=0o750)
    assert not files.run.changed
    path.chmod(0o777)
    os.chown(path, 65534, 65534)
    files.mkdir(str(path), mode=0o750)
    assert files.run.changed
    assert (path.stat().st_mode & 0o7777, path.stat().st_uid, path.stat().st_gid) == (0o750, 0, 0)


def test_mkdir_for_an_account_to_be_created_is_a_change(new_run: Callable[..., Run], tmp_path: Path) -> None:
    files = HostFiles(new_run(check=True))
    files.mkdir(str(tmp_path / "data"), owner="_appmount-no-such-account", mode=0o750)
    assert files.run.changed and not (tmp_path / "data").exists()


def test_failed_nginx_test_restores_every_nginx_file(new_run: Callable[..., Run], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    changed, linked, added, removed = (tmp_path / n for n in ("changed.conf", "linked.conf", "added.conf", "gone.conf"))
    changed.write_text("old\n")
    linked.symlink_to("a.conf")
    removed.write_text("kept\n")
    files = HostFiles(new_run())
    files.write(str(changed), "new\n", 0o644, "nginx")
    files.link(str(linked), "b.conf", "nginx")
    files.write(str(added), "added\n", 0o644, "nginx")
    files.remove(str(removed), "nginx")
    monkeypatch.setattr(hostfiles.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(files.run, "command",
                        lambda argv: subprocess.CompletedProcess(argv, 1, "", "nginx: [emerg] unknown directive\n"))
    with pytest.raises(SystemExit):
        files.test_nginx()
    assert files.run.module.failed == {
        "msg": "nginx -t failed; the previous nginx files were restored and nginx keeps serving its current "
               "configuration:\nnginx: [emerg] unknown directive", "changed": False}
    assert changed.read_text() == "old\n" and os.readlink(linked) == "a.conf" and removed.read_text() == "kept\n"
    assert not added.exists()


def test_nginx_test_passes_or_is_skipped_without_nginx(new_run: Callable[..., Run], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    files = HostFiles(new_run())
    files.write(str(tmp_path / "site.conf"), "x\n", 0o644, "nginx")
    monkeypatch.setattr(hostfiles.shutil, "which", lambda name: None)
    files.test_nginx()
    monkeypatch.setattr(hostfiles.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(files.run, "command", lambda argv: subprocess.CompletedProcess(argv, 0, "", "ok"))
    files.test_nginx()
    assert (tmp_path / "site.conf").read_text() == "x\n"
