"""Release hooks: run in order in the new release with its environment, its writable static directory sealed
afterwards, the first failure (or timeout) named; ``once`` hooks skipped when the host is told to."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils.hooks import hook_env, resolve, run_hooks
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the static directory is chowned")
WRITE = "import os, pathlib; pathlib.Path(os.environ['APPMOUNT_STATIC_DIR'], 'out.css').write_text('body{}')"


def hook(*argv: str, timeout: int = 600, once: bool = False) -> dict[str, Any]:
    return {"argv": list(argv), "timeout": timeout, "once": once}


@pytest.fixture
def release(tmp_path: Path) -> Path:
    path = tmp_path / "releases" / "r1"
    (path / "code").mkdir(parents=True)
    (path / "static").mkdir()
    (path / "venv" / "bin").mkdir(parents=True)
    return path


def app(*hooks: dict[str, Any]) -> Any:
    return {"name": "blog", "user": "root", "env": {"APPMOUNT_APP": "blog", "SECRET": "a$b"}, "hooks": list(hooks)}


def test_hooks_run_in_order_in_the_release_and_its_static_directory_is_sealed(
        release: Path, new_run: Callable[..., Run], direct_run: Any) -> None:
    run = new_run()
    given = app(hook(sys.executable, "-c", WRITE), hook(sys.executable, "-c", "import os; print(os.getcwd())"))
    assert run_hooks(run, given, str(release), "[Service]\n", run_once=True) is True
    assert run.report == {"blog": {"hooks": [shlex.join(h["argv"]) for h in given["hooks"]]}} and not run.errors
    env = direct_run.envs[0]
    assert env == hook_env(given, str(release)) and env["SECRET"] == "a$b"
    assert env["PATH"].startswith(f"{release}/venv/bin:") and env["APPMOUNT_STATIC_DIR"] == f"{release}/static"
    out = release / "static" / "out.css"
    assert out.read_text() == "body{}" and out.stat().st_mode & 0o777 == 0o644
    assert (release / "static").stat().st_mode & 0o777 == 0o755
    assert not Path(f"{release}.hook-env").exists()


def test_the_first_failing_hook_stops_and_is_named(release: Path, new_run: Callable[..., Run],
                                                   direct_run: Any) -> None:
    run = new_run()
    given = app(hook("true"), hook(sys.executable, "-c", "import sys; print('no table'); sys.exit(3)"),
                hook(sys.executable, "-c", WRITE))
    assert run_hooks(run, given, str(release), "", run_once=True) is False
    assert len(direct_run.envs) == 2  # the third hook did not run
    [error] = run.errors
    assert error.startswith(f"blog: hook 2 ({sys.executable} -c ") and "failed with exit status 3" in error
    assert "the new release is not used" in error and error.endswith("no table")
    assert not Path(f"{release}.hook-env").exists()


def test_a_hook_past_its_timeout_fails(release: Path, new_run: Callable[..., Run], direct_run: Any) -> None:
    run = new_run()
    assert run_hooks(run, app(hook("sleep", "5", timeout=1)), str(release), "", run_once=True) is False
    assert "blog: hook 1 (sleep 5) ran past its timeout of 1 s" in run.errors[0]


def test_once_hooks_are_skipped_when_another_host_runs_them(release: Path, new_run: Callable[..., Run],
                                                            direct_run: Any) -> None:
    run = new_run()
    given = app(hook("true", once=True), hook("echo", "collect"))
    assert run_hooks(run, given, str(release), "", run_once=False) is True
    assert run.report == {"blog": {"hooks": ["echo collect"], "hooks_skipped_once": ["true"]}}
    assert len(direct_run.envs) == 1


def test_no_hooks_runs_nothing(release: Path, new_run: Callable[..., Run], direct_run: Any) -> None:
    run = new_run()
    assert run_hooks(run, app(), str(release), "", run_once=True) is True
    assert (run.report, direct_run.envs) == ({}, [])


def test_a_bare_command_is_found_in_the_release_virtualenv_first(release: Path, new_run: Callable[..., Run],
                                                                 direct_run: Any) -> None:
    python = release / "venv" / "bin" / "python"
    python.symlink_to(sys.executable)
    run = new_run()
    script = "import sys; print(sys.argv[0])"
    assert run_hooks(run, app(hook("python", "-c", script), hook("true")), str(release), "", run_once=True) is True
    assert resolve("python", str(release)) == str(python)
    assert resolve("true", str(release)) in ("/usr/bin/true", "/bin/true")
    assert resolve("/opt/tool", str(release)) == "/opt/tool"


def test_a_command_found_nowhere_fails_before_it_runs(release: Path, new_run: Callable[..., Run],
                                                      direct_run: Any) -> None:
    run = new_run()
    assert run_hooks(run, app(hook("no-such-tool-here")), str(release), "", run_once=True) is False
    assert run.errors == ["blog: hook 1 (no-such-tool-here): 'no-such-tool-here' is neither in the release's "
                          "virtualenv nor on PATH; the new release is not used."]
    assert direct_run.envs == []
