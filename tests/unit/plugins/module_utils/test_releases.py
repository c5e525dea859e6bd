"""Releases: ids, the history, switching, pruning, the rollback target, git code ids and building."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile
from ansible_collections.appmount.wsgi.plugins.module_utils.hostfiles import HostFiles
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import (
    Settings,
    build_release,
    code_id,
    current_release,
    demote,
    has_release,
    history,
    prune,
    release_id,
    rollback_target,
    save_history,
    switch,
)
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def releases(home: Path, *ids: str, built: bool = True) -> None:
    for rid in ids:
        (home / "releases" / rid).mkdir(parents=True)
        if built:
            (home / "releases" / rid / "code-id").write_text("c\n")


def test_release_id_follows_code_packages_and_callable() -> None:
    app: Any = {"packages": ["flask"], "module": "app:app", "hooks": []}
    base = release_id(app, "c1")
    assert base == hashlib.sha256(b'["c1", ["flask"], "app:app"]').hexdigest()[:12]  # the ids before hooks existed
    assert release_id(dict(app, hooks=[{"argv": ["true"], "timeout": 600, "once": False}]), "c1") != base
    assert release_id(dict(app), "c1") == base
    assert release_id(app, "c2") != base
    assert release_id(dict(app, packages=["flask<3"]), "c1") != base
    assert release_id(dict(app, module="app:wsgi"), "c1") != base


def test_history_current_and_built_releases(tmp_path: Path) -> None:
    home = tmp_path / "blog"
    assert (history(str(home)), current_release(str(home))) == ([], None)
    releases(home, "r1")
    releases(home, "r2", built=False)  # a build that did not finish has no code-id marker
    save_history(str(home), ["r1", "r2"])
    assert (home / "releases" / "history").read_text() == "r1\nr2\n"
    assert history(str(home)) == ["r1", "r2"]
    (home / "current").symlink_to("releases/r1")
    assert current_release(str(home)) == "r1"
    assert has_release(str(home), "r1") and not has_release(str(home), "r2") and not has_release(str(home), "r3")


@pytest.mark.parametrize("check", [False, True])
def test_switch_makes_the_release_the_newest(new_run: Callable[..., Run], tmp_path: Path, check: bool) -> None:
    home = tmp_path / "blog"
    releases(home, "r1", "r2")
    save_history(str(home), ["r2", "r1"])
    (home / "current").symlink_to("releases/r1")
    files = HostFiles(new_run(check=check))
    app: Any = {"home": str(home), "name": "blog"}
    assert switch(files, app, "r1") is False
    assert not files.run.changed
    assert switch(files, app, "r2") is True
    assert files.run.report == {"blog": {"switched": "r2"}}
    assert os.readlink(home / "current") == ("releases/r1" if check else "releases/r2")
    assert history(str(home)) == (["r2", "r1"] if check else ["r1", "r2"])


def test_prune_keeps_the_newest_and_the_current(new_run: Callable[..., Run], tmp_path: Path) -> None:
    home = tmp_path / "blog"
    releases(home, "r1", "r2", "r3", "r4", built=False)
    save_history(str(home), ["r1", "r2", "r3", "r4"])
    (home / "current").symlink_to("releases/r1")  # rolled back to the oldest
    app: Any = {"home": str(home), "name": "blog"}
    prune(HostFiles(new_run()), app, 2)
    assert sorted(p.name for p in (home / "releases").iterdir()) == ["history", "r1", "r3", "r4"]
    assert history(str(home)) == ["r1", "r3", "r4"]


def test_rollback_target_and_demote(tmp_path: Path) -> None:
    home = tmp_path / "blog"
    releases(home, "r1", "r3")
    releases(home, "r2", built=False)  # not built: never a target
    save_history(str(home), ["r1", "r2", "r3"])
    assert rollback_target(str(home)) == "r3"  # nothing current yet
    (home / "current").symlink_to("releases/r3")
    assert rollback_target(str(home)) == "r1"
    demote(str(home), "r3")
    assert history(str(home)) == ["r3", "r1", "r2"]
    save_history(str(home), ["r3"])
    assert rollback_target(str(home)) is None


def test_code_id_of_controller_code_and_of_none(new_run: Callable[..., Run]) -> None:
    run = new_run()
    path: Any = {"code": {"kind": "path", "path": "/ctl/blog", "id": "abc"}}
    none: Any = {"code": {"kind": "none"}}
    assert (code_id(run, path), code_id(run, none)) == ("abc", "none")
    assert run.module.commands == []


def git(*argv: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *argv],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit of app.py, tagged v1."""
    path = tmp_path / "repo"
    path.mkdir()
    (path / "app.py").write_text("def app(environ, start_response):\n    return [b'ok']\n")
    git("-C", str(path), "init", "-q")
    git("-C", str(path), "add", "app.py")
    git("-C", str(path), "commit", "-q", "-m", "one")
    git("-C", str(path), "tag", "v1")
    return path


def git_app(home: Path, repo: Path, version: str) -> Any:
    return {"name": "blog", "home": str(home), "code": {"kind": "git", "repo": str(repo), "version": version}}


def test_code_id_of_git_code_mirrors_the_repository(new_run: Callable[..., Run], tmp_path: Path, repo: Path) -> None:
    home = tmp_path / "blog"
    home.mkdir()
    check = new_run(check=True)
    assert code_id(check, git_app(home, repo, "v1")) is None  # check mode: no mirror yet, nothing cloned
    assert (check.errors, os.path.exists(home / "git")) == ([], False)
    run = new_run()
    commit = git("-C", str(repo), "rev-parse", "HEAD")
    assert code_id(run, git_app(home, repo, "v1")) == commit
    assert (home / "git" / "HEAD").is_file()
    (repo / "app.py").write_text("app = None\n")
    git("-C", str(repo), "commit", "-q", "-am", "two")
    assert code_id(run, git_app(home, repo, "HEAD")) == git("-C", str(repo), "rev-parse", "HEAD")  # fetched
    assert code_id(run, git_app(home, repo, "v2")) is None
    assert run.errors == [f"blog: source.version 'v2' is not in {repo}"]


def app_to_build(home: Path, code: dict[str, str], module: str) -> Any:
    return {"name": "blog", "home": str(home), "user": "root", "code": code, "module": module, "packages": [],
            "requirements": None, "env": {"APPMOUNT_APP": "blog"}, "hooks": []}


@pytest.mark.skipif(os.geteuid() != 0, reason="the code is chowned to root")
def test_build_release_from_git_and_from_an_archive(new_run: Callable[..., Run], tmp_path: Path, repo: Path,
                                                    direct_run: Any) -> None:
    """Two real builds (a virtualenv each): one that imports, one that does not."""
    home = tmp_path / "blog"
    (home / "releases").mkdir(parents=True)
    (tmp_path / "blog.env").write_text(envfile.render({"APPMOUNT_APP": "blog", "SECRET": "k9$(x)%^"}))
    settings = Settings("[Service]\nProtectSystem=strict\n", str(tmp_path / "blog.env"))
    run = new_run()
    commit = code_id(run, git_app(home, repo, "v1"))
    assert commit is not None
    app = app_to_build(home, {"kind": "git", "repo": str(repo), "version": "v1"}, "app:app")
    assert build_release(run, app, "r1", commit, settings) is True
    assert direct_run.envs == [{"APPMOUNT_APP": "blog", "SECRET": "k9$(x)%^"}]
    final = home / "releases" / "r1"
    assert (final / "code-id").read_text() == commit + "\n"
    assert (final / "code" / "app.py").stat().st_uid == 0 and (final / "venv" / "bin" / "python").exists()
    assert not (home / "releases" / "r1.tar").exists() and has_release(str(home), "r1")

    archive = tmp_path / "code.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"application = None\n"
        info = tarfile.TarInfo("app.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    app = app_to_build(home, {"kind": "path", "path": "/ctl", "id": "c2", "archive": str(archive)}, "app:app")
    assert build_release(run, app, "r2", "c2", settings) is False
    assert not (home / "releases" / "r2").exists()
    assert run.errors[0].startswith("blog: the new release does not import 'app:app'; it is not used")
    assert "AttributeError" in run.errors[0]
