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


def test_a_refused_nginx_configuration_puts_every_file_of_the_run_back(
        new_run: Callable[..., Run], tmp_path: Path, apply: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    changed, linked, added, removed = (etc / n for n in ("changed.conf", "linked.conf", "added.conf", "gone.conf"))
    changed.write_text("old\n")
    changed.chmod(0o640)
    linked.symlink_to("a.conf")
    removed.write_text("kept\n")
    files = HostFiles(new_run())
    files.write(str(changed), "new\n", 0o644, "nginx")
    files.link(str(linked), "b.conf", "nginx")
    files.write(str(added), "added\n", 0o644, "nginx")
    files.remove(str(removed), "nginx")
    (tmp_path / "nginx-says").write_text('nginx: [emerg] unknown directive "bogus"\n')
    with pytest.raises(SystemExit):
        files.test_nginx(str(apply))
    failed = files.run.module.failed
    assert failed is not None and failed["changed"] is False
    assert failed["msg"].startswith("nginx -t refused the new configuration; the previous files are back")
    assert failed["msg"].endswith('nginx: [emerg] unknown directive "bogus"')
    assert changed.read_text() == "old\n" and os.readlink(linked) == "a.conf" and removed.read_text() == "kept\n"
    assert not added.exists()
    assert not (tmp_path / "systemctl-calls").exists()


def test_an_accepted_nginx_configuration_stays_and_reload_reloads(
        new_run: Callable[..., Run], tmp_path: Path, apply: Path) -> None:
    files = HostFiles(new_run())
    files.write(str(tmp_path / "site.conf"), "x\n", 0o644, "nginx")
    files.test_nginx(str(apply))
    assert (tmp_path / "site.conf").read_text() == "x\n" and files.run.module.failed is None
    assert not (tmp_path / "systemctl-calls").exists()  # the role's handler reloads, once per play
    assert subprocess.run([str(apply), "--reload"], check=False).returncode == 0
    assert (tmp_path / "systemctl-calls").read_text() == "reload-or-restart nginx.service\n"


def test_without_nginx_there_is_nothing_to_test(new_run: Callable[..., Run], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    files = HostFiles(new_run())
    files.write(str(tmp_path / "site.conf"), "x\n", 0o644, "nginx")
    monkeypatch.setattr(hostfiles.shutil, "which", lambda name: None)
    files.test_nginx(None)
    assert files.run.module.failed is None
