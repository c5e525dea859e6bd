# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of appmount.wsgi.packages: ``dpkg-query`` through the connection, apt only for what is missing."""

from __future__ import annotations

import re
import shlex
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

# a package name as Debian Policy allows it (5.6.1); anything else (versions, globs, arch qualifiers) goes to apt
PLAIN_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
QUERY = "dpkg-query --show --showformat='${Package} ${db:Status-Abbrev} ${Version}\\n' -- "
# epoch:upstream-revision (Debian Policy 5.6.12): the upstream part
UPSTREAM = re.compile(r"^(?:\d+:)?(?P<upstream>.+?)(?:-[^-]*)?$")


def installed(stdout: str) -> dict[str, str]:
    """The installed packages (status ``i``: installed, whatever the selection, e.g. held) that dpkg-query's
    ``stdout`` shows, with the upstream part of their version."""
    found: dict[str, str] = {}
    for fields in (line.split() for line in stdout.splitlines()):
        if len(fields) == 3 and len(fields[1]) >= 2 and fields[1][1] == "i":
            match = UPSTREAM.match(fields[2])
            found[fields[0]] = match.group("upstream") if match else fields[2]
    return found


def missing(names: list[str], stdout: str) -> list[str]:
    """The packages of ``names`` that dpkg-query's ``stdout`` does not show installed."""
    present = installed(stdout)
    return [name for name in names if name not in present]


def names_arg(args: dict[str, Any], key: str) -> list[str]:
    names = args.get(key, [])
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise AnsibleActionFail(f"{key} must be a list of package names, got {names!r}")
    return names


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("name", "versions", "update_cache", "cache_valid_time"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        if "name" not in self._task.args:
            raise AnsibleActionFail("name is required")
        names = names_arg(self._task.args, "name")
        versions = names_arg(self._task.args, "versions")
        if not all(PLAIN_NAME.match(name) for name in versions):
            raise AnsibleActionFail(f"versions must be plain package names, got {versions!r}")
        todo = list(names)  # a name that is not a plain package name: apt decides
        found: dict[str, str] = {}
        if all(PLAIN_NAME.match(name) for name in names) and (names or versions):
            found = self.query(names + versions)
            todo = [name for name in names if name not in found]
        if todo:
            apt_args = {"name": names, "state": "present", "update_cache": self._task.args.get("update_cache", False),
                        "cache_valid_time": self._task.args.get("cache_valid_time", 0)}
            result.update(self._execute_module("ansible.builtin.apt", module_args=apt_args, task_vars=task_vars))
            if versions and not result.get("failed"):
                found = self.query(versions)  # what apt installed (nothing in check mode)
        else:
            result["changed"] = False
        result["missing"] = todo
        result["versions"] = {name: found[name] for name in versions if name in found}
        return result

    def query(self, names: list[str]) -> dict[str, str]:
        """One dpkg-query of ``names`` (it exits 1 for a package it does not know, and still prints the others)."""
        done = self._low_level_execute_command(QUERY + " ".join(shlex.quote(name) for name in dict.fromkeys(names)))
        return installed(done.get("stdout", ""))
