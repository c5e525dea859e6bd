# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The resource limits of an app's unit (``memory_max``, ``cpu_quota``, ``tasks_max``): their syntax, checked on
the controller so that systemd never ignores a value it cannot parse, and their unit-file spelling."""

from __future__ import annotations

import re
from typing import Any

SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[KMGT]?\Z")
PERCENT_RE = re.compile(r"^[0-9]+%\Z")
KEYS = ("memory_max", "cpu_quota", "tasks_max")


def memory_max_problem(value: Any) -> str | None:
    """systemd's ``MemoryMax=``: bytes, a size with K, M, G or T, a percentage of RAM, or ``infinity``."""
    if isinstance(value, bool):
        return "must be a size"
    if isinstance(value, int):
        return None if value > 0 else "must be more than 0"
    if isinstance(value, str) and (value == "infinity" or SIZE_RE.match(value) or PERCENT_RE.match(value)):
        return None
    return "must be a size such as 512M or 2G, a percentage of the RAM such as 25%, or 'infinity'"


def cpu_quota_problem(value: Any) -> str | None:
    """systemd's ``CPUQuota=``: a percentage of one core (``200%`` is two cores), or empty for none."""
    if value == "" or (isinstance(value, str) and PERCENT_RE.match(value) and int(value[:-1]) > 0):
        return None
    return "must be a percentage of one core such as 50% or 200%, or '' for no quota"


def tasks_max_problem(value: Any) -> str | None:
    """systemd's ``TasksMax=``: a number of processes and threads, a percentage, or ``infinity``."""
    if isinstance(value, bool):
        return "must be a number"
    if isinstance(value, int):
        return None if value > 0 else "must be at least 1"
    if isinstance(value, str) and (value == "infinity" or PERCENT_RE.match(value) or value.isdigit()):
        return None
    return "must be a number of processes and threads such as 256, or 'infinity'"


PROBLEMS = {"memory_max": memory_max_problem, "cpu_quota": cpu_quota_problem, "tasks_max": tasks_max_problem}


def problems(app: Any) -> list[str]:
    """Messages for the limits ``app`` sets wrongly, each naming the field."""
    return [f"{key} {app[key]!r} {check(app[key])}" for key, check in PROBLEMS.items()
            if key in app and check(app[key])]
