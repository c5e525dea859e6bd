"""Builds: new releases at the same time, bounded by the jobs; a failed step is its app's error alone."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils import build, installer
from ansible_collections.appmount.wsgi.plugins.module_utils.build import Builder
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import Settings, build_release
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def app_of(home: Path, name: str) -> Any:
    return {"name": name, "home": str(home / name), "code": {"kind": "none"}, "packages": [], "module": "app:app",
            "hooks": [], "requirements": None, "files": []}


def test_builds_run_at_once_bounded_by_the_jobs(new_run: Callable[..., Run], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Five builds, two jobs: two at a time, never more, each result with its own app."""
    lock, running, most = threading.Lock(), [0], [0]

    def fake_build(run: Run, app: Any, rid: str, cid: str, settings: Settings, *_installer: Any) -> bool:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return app["name"] != "b3"

    monkeypatch.setattr(build, "build_release", fake_build)
    builder = Builder(new_run(), jobs=2)
    todo = [(app_of(tmp_path, f"b{i}"), f"r{i}", "c", Settings("", "")) for i in range(1, 6)]
    start = time.monotonic()
    assert builder.build_all(todo) == [True, True, False, True, True]
    assert most[0] == 2
    assert time.monotonic() - start < 5 * 0.2  # not one after another


def test_one_job_builds_one_after_another_in_the_calling_thread(new_run: Callable[..., Run], tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    monkeypatch.setattr(build, "build_release", lambda *args: threads.append(threading.current_thread().name) or True)
    todo = [(app_of(tmp_path, f"b{i}"), f"r{i}", "c", Settings("", "")) for i in range(1, 4)]
    assert Builder(new_run(), jobs=1).build_all(todo) == [True, True, True]
    assert threads == [threading.current_thread().name] * 3


def test_a_command_that_cannot_run_is_the_apps_error(new_run: Callable[..., Run], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError (a fork refused, a missing executable) in a build thread: the app's error, not the module's."""
    run = new_run()
    (tmp_path / "blog" / "releases").mkdir(parents=True)
    monkeypatch.setattr(installer, "PIP_WHEELS", str(tmp_path / "no-such-wheel-*.whl"))

    def refused(argv: list[str], **_kwargs: Any) -> Any:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(run, "run", refused)
    assert build_release(run, app_of(tmp_path, "blog"), "r1", "none", Settings("", "")) is False
    assert run.errors[0].startswith("blog: python3 could not build the new release") and "allocate" in run.errors[0]
    assert run.module.failed is None  # type: ignore[attr-defined]


def test_the_default_jobs_are_the_cores(new_run: Callable[..., Run]) -> None:
    assert Builder(new_run()).jobs == len(os.sched_getaffinity(0))
    assert Builder(new_run(), jobs=1).jobs == 1


def test_a_venv_that_cannot_be_made_is_the_apps_error_alone(new_run: Callable[..., Run], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The venv step fails: the release goes, the app's error names the step, the run itself goes on."""
    run = new_run()
    app = app_of(tmp_path, "blog")
    (tmp_path / "blog" / "releases").mkdir(parents=True)
    monkeypatch.setattr(installer, "PIP_WHEELS", str(tmp_path / "no-such-wheel-*.whl"))

    def failing(argv: list[str], **_kwargs: Any) -> Any:
        return subprocess.CompletedProcess(argv, 1, "", "Error: no space left on device")

    monkeypatch.setattr(run, "run", failing)
    assert build_release(run, app, "r1", "none", Settings("", "")) is False
    assert not (tmp_path / "blog" / "releases" / "r1").exists()
    assert len(run.errors) == 1
    assert run.errors[0].startswith("blog: python3 could not build the new release (-m venv ")
    assert "no space left on device" in run.errors[0]


def test_the_venv_has_no_pip_when_debians_wheel_is_there(new_run: Callable[..., Run], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With Debian's pip wheel, the venv is made without pip and the wheel's pip installs the packages."""
    run = new_run()
    app = dict(app_of(tmp_path, "blog"), packages=["flask"])
    (tmp_path / "blog" / "releases").mkdir(parents=True)
    wheel = tmp_path / "pip-23.0.1-py3-none-any.whl"
    wheel.write_text("")
    monkeypatch.setattr(installer, "PIP_WHEELS", str(tmp_path / "pip-*.whl"))
    calls: list[list[str]] = []

    def record(argv: list[str], **_kwargs: Any) -> Any:
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 1 if "install" in argv else 0, "", "pip said no")

    monkeypatch.setattr(run, "run", record)
    assert build_release(run, app, "r1", "none", Settings("", "")) is False  # pip's failure stops it
    venv = str(tmp_path / "blog" / "releases" / "r1" / "venv")
    assert calls[0] == ["/usr/bin/python3", "-m", "venv", "--without-pip", venv]
    assert calls[1][:3] == [f"{venv}/bin/python", f"{wheel}/pip", "install"] and calls[1][-1] == "flask"
    assert run.errors[0].startswith("blog: pip could not build the new release (")
