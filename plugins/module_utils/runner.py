# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The context of one app_deploy run: check mode, what changed, diffs, the per-app report, errors, commands."""

from __future__ import annotations

import subprocess
from typing import Any, NoReturn, Protocol, TypedDict


class Module(Protocol):
    """The part of ``AnsibleModule`` a run uses (ansible-core ships no type information)."""

    check_mode: bool

    def fail_json(self, msg: str, **kwargs: Any) -> NoReturn:
        ...

    def run_command(self, args: list[str], **kwargs: Any) -> tuple[int, str, str]:
        ...


class Diff(TypedDict):
    before_header: str
    after_header: str
    before: str
    after: str


class Run:
    """What one module run did so far, and how it runs commands."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.check: bool = module.check_mode
        self.changed = False
        self.diffs: list[Diff] = []
        self.report: dict[str, dict[str, Any]] = {}  # per app name: what was done
        self.errors: list[str] = []  # apps that failed; the others still deploy
        self.warnings: list[str] = []  # the module's warnings

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``argv`` through subprocess, for commands that need their own user, group, cwd, env or timeout."""
        return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)

    def command(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """A plain command through ``AnsibleModule.run_command``, its arguments passed as they are."""
        rc, stdout, stderr = self.module.run_command(argv, expand_user_and_vars=False)
        return subprocess.CompletedProcess(argv, rc, stdout, stderr)

    def checked(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """A plain command that must succeed: the run fails with its output otherwise."""
        proc = self.command(argv)
        if proc.returncode != 0:
            self.fail_command(argv, proc)
        return proc

    def fail_command(self, argv: list[str], proc: subprocess.CompletedProcess[str]) -> NoReturn:
        self.module.fail_json(msg=f"{' '.join(argv)} failed: {proc.stderr.strip() or proc.stdout.strip()}",
                              changed=self.changed)

    def fail(self, msg: str, **result: Any) -> NoReturn:
        self.module.fail_json(msg=msg, **result)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def note(self, app: str, key: str, value: Any = True) -> None:
        """Report ``key`` for ``app``; a note is a change."""
        self.report.setdefault(app, {})[key] = value
        self.changed = True
