# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An app's environment as a systemd ``EnvironmentFile=``, passed to the app byte for byte.

uWSGI's ini parser expands ``$(VAR)``, ``@(file)`` and ``%`` magic in values,
so values never go into the ini. systemd reads an environment file without
any expansion; only its quoting matters. Inside double quotes systemd removes
a backslash before one of ``"``, ``\\``, ``$`` and `````` and keeps every other
character as it is, so every value is written double-quoted with those four
escaped: leading and trailing spaces, ``#``, ``;``, quotes and unicode survive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ESCAPED = frozenset('"\\$`')
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


def problems(env: Any) -> list[str]:
    """What keeps ``env`` (an app's ``env`` key) from reaching the app unchanged, each naming the variable.

    systemd refuses values with control characters (a newline would end the assignment).
    """
    if not isinstance(env, Mapping):
        return ["env must be a mapping of variable names to values"]
    result = []
    for key, value in env.items():
        if not isinstance(key, str) or not NAME_RE.match(key):
            result.append(f"env variable name {key!r} is invalid; allowed: letters, digits and '_', "
                          "not starting with a digit")
        control = isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value)
        if value is None or isinstance(value, (Mapping, list)) or control:
            result.append(f"env {key!r} must be a string without control characters (no newline), a number or "
                          "a boolean")
    return result


def quote(value: str) -> str:
    """``value`` double-quoted the way systemd's environment-file parser reads it back unchanged."""
    return '"' + "".join("\\" + c if c in ESCAPED else c for c in value) + '"'


def render(env: Mapping[str, str], header: str = "") -> str:
    """The file: an optional comment header, then ``KEY="VALUE"`` lines sorted by name."""
    return header + "".join(f"{key}={quote(env[key])}\n" for key in sorted(env))


def parse(text: str) -> dict[str, str]:
    """Read such a file back as systemd does (double-quoted values, comments): the unit tests' oracle.

    A reimplementation of the subset of systemd's ``parse_env_file`` that :func:`render` writes:
    ``KEY="..."`` lines, ``#`` and ``;`` comment lines and blank lines.
    """
    env: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.strip() or line.lstrip()[0] in "#;":
            continue
        key, sep, raw = line.partition("=")
        if not sep or not raw.startswith('"') or not raw.endswith('"') or len(raw) < 2:
            raise ValueError(f"not a double-quoted assignment: {line!r}")
        value, escaped = [], False
        for char in raw[1:-1]:
            if escaped:
                value.append(char if char in ESCAPED else "\\" + char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                raise ValueError(f"unescaped quote in {line!r}")
            else:
                value.append(char)
        if escaped:
            raise ValueError(f"dangling backslash in {line!r}")
        env[key.strip()] = "".join(value)
    return env
