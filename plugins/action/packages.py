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
QUERY = "dpkg-query --show --showformat='${Package} ${db:Status-Abbrev}\\n' -- "


def missing(names: list[str], stdout: str) -> list[str]:
    """The packages of ``names`` that dpkg-query's ``stdout`` does not show installed (status ``i``: installed,
    whatever the selection, e.g. held)."""
    installed = {fields[0] for fields in (line.split() for line in stdout.splitlines())
                 if len(fields) == 2 and len(fields[1]) >= 2 and fields[1][1] == "i"}
    return [name for name in names if name not in installed]


class ActionModule(ActionBase):
    _VALID_ARGS = frozenset(("name", "update_cache", "cache_valid_time"))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        names = self._task.args.get("name")
        if isinstance(names, str):
            names = [part.strip() for part in names.split(",") if part.strip()]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise AnsibleActionFail(f"name must be a list of package names, got {names!r}")
        todo = list(names)  # a name that is not a plain package name: apt decides
        if names and all(PLAIN_NAME.match(name) for name in names):
            query = self._low_level_execute_command(QUERY + " ".join(shlex.quote(name) for name in names))
            todo = missing(names, query.get("stdout", ""))  # dpkg-query exits 1 for a package it does not know
        if not todo:
            result.update(changed=False, missing=[])
            return result
        apt_args = {"name": names, "state": "present", "update_cache": self._task.args.get("update_cache", False),
                    "cache_valid_time": self._task.args.get("cache_valid_time", 0)}
        result.update(self._execute_module("ansible.builtin.apt", module_args=apt_args, task_vars=task_vars))
        result["missing"] = todo
        return result
