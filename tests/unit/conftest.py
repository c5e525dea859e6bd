"""Shared fixtures. The plugins are imported as ``ansible_collections.appmount.wsgi.plugins...``:
``.collections/ansible_collections/appmount/wsgi`` links to this checkout and is put on sys.path here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO_ROOT / ".collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile, hooks, releases, systemd  # noqa: E402
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run  # noqa: E402


class FakeModule:
    """The part of ``AnsibleModule`` a ``Run`` uses. ``fail_json`` exits like the real one and keeps its
    arguments in ``failed``; ``run_command`` runs the command and records it in ``commands``."""

    def __init__(self, check_mode: bool = False) -> None:
        self.check_mode = check_mode
        self.failed: dict[str, Any] | None = None
        self.commands: list[list[str]] = []

    def fail_json(self, msg: str, **kwargs: Any) -> NoReturn:
        self.failed = dict(kwargs, msg=msg)
        raise SystemExit(1)

    def run_command(self, args: list[str], **kwargs: Any) -> tuple[int, str, str]:
        self.commands.append(list(args))
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 has no module_utils.testing: modules read basic._ANSIBLE_ARGS
    from unittest import mock

    from ansible.module_utils import basic

    @contextmanager
    def patch_module_args(args: dict[str, Any] | None = None) -> Iterator[None]:
        """Expose ``args`` to the ``AnsibleModule`` instances created within this context."""
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()):
            yield


@pytest.fixture
def module_args() -> Callable[..., AbstractContextManager[None]]:
    """``with module_args({...}):`` AnsibleModule instances created inside read these arguments (2.18 and 2.19)."""
    return patch_module_args


class DirectRun:
    """Stands in for ``systemd-run`` in the import test (it needs systemd as PID 1; Molecule runs the real one):
    the command runs with the environment file's variables, as the test's user. ``envs`` keeps each environment."""

    def __init__(self) -> None:
        self.envs: list[dict[str, str]] = []

    def __call__(self, run: Any, app: Any, dropin: str, argv: list[str], cwd: str, env_file: str,
                 timeout: int, writable: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        with open(env_file, encoding="utf-8") as handle:
            env = envfile.parse(handle.read())
        self.envs.append(env)
        try:
            return subprocess.run(argv, cwd=cwd, env=dict({"PATH": "/usr/bin:/bin"}, **env), capture_output=True,
                                  text=True, check=False, timeout=timeout)
        except subprocess.TimeoutExpired as expired:  # systemd-run stops a unit past its RuntimeMaxSec=
            return subprocess.CompletedProcess(argv, -9, str(expired.stdout or ""), str(expired.stderr or ""))


@pytest.fixture
def direct_run(monkeypatch: pytest.MonkeyPatch) -> DirectRun:
    """Import tests run without systemd-run (see ``DirectRun``)."""
    fake = DirectRun()
    monkeypatch.setattr(releases, "sandboxed", fake)
    monkeypatch.setattr(hooks, "sandboxed", fake)
    return fake


SYSTEMCTL_SCRIPT = """#!/usr/bin/python3
import json, os, sys
state_file, log = sys.argv[0] + ".state", sys.argv[0] + ".log"
state = json.load(open(state_file)) if os.path.exists(state_file) else {}
args = sys.argv[1:]
with open(log, "a") as handle:
    handle.write(" ".join(args) + "\\n")
verb, units = args[0], [a for a in args[1:] if "." in a]
if verb == "show":
    for unit in units:
        active, enabled = state.get(unit, (False, False))
        print(f"Id={unit}\\nActiveState={'active' if active else 'inactive'}\\nMainPID=0\\n"
              f"UnitFileState={'enabled' if enabled else 'disabled'}\\n")
for unit in units:
    active, enabled = state.get(unit, (False, False))
    now = "--now" in args
    if verb in ("enable", "disable"):
        state[unit] = (active if not now else verb == "enable", verb == "enable")
    elif verb in ("start", "restart"):
        state[unit] = (True, enabled)
    elif verb == "stop":
        state[unit] = (False, enabled)
json.dump(state, open(state_file, "w"))
"""


class Systemctl:
    """A ``systemctl`` for hosts without systemd as PID 1: an executable that logs its arguments, keeps which units
    are active and enabled, and answers ``show`` with that. ``calls`` reads the log."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "systemctl"
        self.log = directory / "systemctl.log"
        self.path.write_text(SYSTEMCTL_SCRIPT)
        self.path.chmod(0o755)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Systemctl:
    """Unit control goes to a ``Systemctl`` that records the calls."""
    directory = tmp_path / "systemctl-bin"
    directory.mkdir()
    fake = Systemctl(directory)
    monkeypatch.setattr(systemd, "SYSTEMCTL", str(fake.path))
    return fake


@pytest.fixture
def new_module() -> Callable[..., FakeModule]:
    """``new_module(check_mode=False)``: a ``FakeModule``."""
    return FakeModule


@pytest.fixture
def new_run() -> Callable[..., Run]:
    """``new_run(check=False)``: a run context on a ``FakeModule``."""

    def make(check: bool = False) -> Run:
        return Run(FakeModule(check))

    return make


APPLY = REPO_ROOT / "roles/nginx/templates/usr/local/sbin/appmount-nginx-apply.j2"


@pytest.fixture
def apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The nginx role's apply script, rendered, with stand-ins for ``nginx`` (``tmp_path/nginx-says`` holds what
    ``nginx -t`` prints and whether it fails) and ``systemctl`` (it records its arguments) first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "appmount-nginx-apply"
    script.write_text(APPLY.read_text().replace("{{ ansible_managed | comment }}", "# rendered by the test"))
    (bin_dir / "nginx").write_text(f"#!/bin/sh\ncat {tmp_path}/nginx-says >&2\n"
                                   f"! grep -q emerg {tmp_path}/nginx-says\n")
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/systemctl-calls\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    (tmp_path / "nginx-says").write_text("nginx: the configuration file syntax is ok\n")
    return script


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many invalid app lists the validator refused (the count the issue asks the tests to print)."""
    refused = [r for r in terminalreporter.stats.get("passed", []) if "test_apps_errors_refuses" in r.nodeid]
    if refused:
        terminalreporter.write_line(f"refused-input cases: {len(refused)} invalid app lists refused, "
                                    "each naming the app and the field")
