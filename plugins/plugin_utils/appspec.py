# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app schema, read from ``roles/apps/meta/argument_specs.yml`` (its single owner).

Ansible validates a role's arguments itself, but its messages do not say which app is wrong
(``found in 'appmount_apps'``). This module checks one app against the same spec - unknown keys,
required keys, types, list elements, choices and sub-options - with messages that name the field,
and gives the spec's defaults. Controller only: the spec file ships in the collection beside the plugins.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import yaml

SPEC_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "apps", "meta", "argument_specs.yml")
Options = Mapping[str, Mapping[str, Any]]

# what each argument_specs type accepts, and how a refusal says it
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "str": ((str,), "a string"),
    "path": ((str,), "a string"),
    "int": ((int,), "an integer"),
    "bool": ((bool,), "true or false"),
    "list": ((list,), "a list"),
    "dict": ((Mapping,), "a mapping"),
}


@functools.cache
def role_spec(entry_point: str = "main", path: str = SPEC_FILE) -> Mapping[str, Any]:
    """The options of one entry point of the apps role."""
    with open(path, encoding="utf-8") as fh:
        spec: Mapping[str, Any] = yaml.safe_load(fh)["argument_specs"][entry_point]["options"]
    return spec


def app_options() -> Options:
    """The keys of one item of ``appmount_apps``."""
    options: Options = role_spec()["appmount_apps"]["options"]
    return options


def app_defaults() -> dict[str, Any]:
    """The defaults the spec gives for an app's keys (the role's ``apps_default_*`` cover the others)."""
    return {key: option["default"] for key, option in app_options().items() if "default" in option}


def with_defaults(given: Mapping[str, Any], options: Options | None = None) -> dict[str, Any]:
    """``given`` (a valid app by default) with the spec's defaults for what it leaves out, sub-options included."""
    options = app_options() if options is None else options
    result = {key: option["default"] for key, option in options.items() if "default" in option}
    result.update(given)
    for key, option in options.items():
        sub = option.get("options")
        if sub and isinstance(result.get(key), list):
            result[key] = [with_defaults(item, sub) for item in result[key]]
        elif sub and isinstance(result.get(key), Mapping):
            result[key] = with_defaults(result[key], sub)
    return result


def type_ok(value: Any, option: Mapping[str, Any]) -> bool:
    """Whether ``value`` has the type ``option`` declares (``raw`` takes anything; a bool is no integer)."""
    kind = option.get("type", "raw")
    if kind == "raw":
        return True
    if kind == "int" and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind][0])


def _allowed(option: Mapping[str, Any]) -> str:
    if "choices" in option:
        return ", ".join(str(c) for c in option["choices"])
    words = _TYPES[option["type"]][1]
    if option["type"] == "list" and "elements" in option:
        element = _TYPES[option["elements"]][1].split(" ", 1)[1]
        words = f"a list of {'mappings' if element == 'mapping' else element + 's'}"
    return words


def problems(given: Mapping[str, Any], options: Options, where: str = "") -> list[str]:
    """What in ``given`` does not fit ``options``, each message naming the field (``static[0].url``)."""
    result: list[str] = []
    unknown = sorted(str(k) for k in given if k not in options)
    for key in unknown:
        scope = f"{where.rstrip('.')} has unknown key" if where else "unknown key"
        result.append(f"{scope} '{key}'; allowed keys: {', '.join(sorted(options))}")
    for key, option in options.items():
        field = where + key
        if key not in given:
            if option.get("required"):
                result.append(f"{field} is required")
            continue
        result.extend(_value_problems(given[key], option, field))
    return result


def _value_problems(value: Any, option: Mapping[str, Any], field: str) -> list[str]:
    if not type_ok(value, option):
        return [f"{field} {value!r} is invalid; allowed: {_allowed(option)}"]
    if "choices" in option and value not in option["choices"]:
        return [f"{field} {value!r} is invalid; allowed: {_allowed(option)}"]
    result: list[str] = []
    if option.get("type") == "list" and "elements" in option:
        element = {"type": option["elements"]}
        for i, item in enumerate(value):
            result.extend(_value_problems(item, element, f"{field}[{i}]"))
            if option.get("options") and isinstance(item, Mapping):
                result.extend(problems(item, option["options"], f"{field}[{i}]."))
    elif option.get("type") == "dict" and option.get("options"):
        result.extend(problems(value, option["options"], f"{field}."))
    return result
