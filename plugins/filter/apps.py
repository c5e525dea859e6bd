# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side checks and derived settings for ``appmount_apps``.

``apps_errors`` finds what argument_specs cannot: cross-app conflicts, the
syntax of names, mounts and modules, and paths on the controller.
``apps_normalize`` turns a valid list into the records the role's tasks and
templates use (users, directories, sockets, full static URLs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile
from ansible_collections.appmount.wsgi.plugins.module_utils import limits as unit_limits
from ansible_collections.appmount.wsgi.plugins.module_utils.app import App, Code

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")
SEGMENT_RE = re.compile(r"^[A-Za-z0-9_~.-]+\Z")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MODULE_RE = re.compile(rf"^{IDENT}(\.{IDENT})*:{IDENT}\Z")
STATES = ("present", "disabled", "absent")
APP_KEYS = frozenset(("name", "mount", "module", "source", "packages", "requirements", "env", "static", "processes",
                      "threads", "request_log", "state", *unit_limits.KEYS))
SOURCE_KEYS = frozenset(("path", "git", "version"))
STATIC_KEYS = frozenset(("url", "path"))

AppSpec = Mapping[str, Any]  # one item of appmount_apps, as the user wrote it


def mount_problem(mount: Any) -> str | None:
    """Say what is wrong with a URL prefix, or None when it is valid."""
    if not isinstance(mount, str) or not mount:
        return "must be a string"
    if mount == "/":
        return None
    if not mount.startswith("/"):
        return "must start with '/'"
    if mount.endswith("/"):
        return "must not end with '/'"
    segments = mount[1:].split("/")
    if any(seg == "" for seg in segments):
        return "must not contain '//'"
    if any(seg in (".", "..") for seg in segments):
        return "must not contain '.' or '..' segments"
    if not all(SEGMENT_RE.match(seg) for seg in segments):
        return "may only use letters, digits and '-._~' between slashes"
    return None


def relative_path_problem(path: Any) -> str | None:
    """Say what is wrong with a path that must stay inside the app's code directory."""
    if not isinstance(path, str) or not path:
        return "must be a non-empty string"
    if path.startswith("/"):
        return "must be relative to the app's code directory"
    if ".." in path.split("/"):
        return "must not contain '..'"
    return None


def join_url(mount: str, url: str) -> str:
    """The full URL of ``url`` under ``mount`` ("/" + "/static" is "/static")."""
    return url if mount == "/" else mount + url


def resolve_source(path: str, base_dir: str) -> str:
    """An absolute, normalized controller path for ``source.path``."""
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base_dir, path))


def _app_label(index: int, app: Any) -> str:
    name = app.get("name") if isinstance(app, Mapping) else None
    return f"appmount_apps[{index}] ({name})" if isinstance(name, str) and name else f"appmount_apps[{index}]"


def _unknown_keys(given: Mapping[str, Any], allowed: frozenset[str]) -> list[str]:
    return sorted(str(k) for k in given if k not in allowed)


def _check_app(app: AppSpec, base_dir: str, err: Callable[[str], None]) -> None:
    for key in _unknown_keys(app, APP_KEYS):
        err(f"unknown key '{key}'; allowed keys: {', '.join(sorted(APP_KEYS))}")

    name = app.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        err(f"name {name!r} is invalid; allowed: lower-case letters, digits and '-', starting with a letter, "
            "at most 31 characters")

    if "mount" not in app:
        err("mount is required; allowed: '/' or '/seg[/seg...]'")
    else:
        problem = mount_problem(app["mount"])
        if problem:
            err(f"mount {app['mount']!r} {problem}; allowed: '/' or '/seg[/seg...]' without a trailing slash")

    module = app.get("module")
    if not isinstance(module, str) or not MODULE_RE.match(module):
        err(f"module {module!r} is invalid; allowed: 'python.module:callable', "
            "e.g. 'app:app' or 'mysite.wsgi:application'")

    state = app.get("state", "present")
    if state not in STATES:
        err(f"state {state!r} is invalid; allowed: {', '.join(STATES)}")

    for key in ("processes", "threads"):
        value = app.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            err(f"{key} {value!r} is invalid; allowed: an integer of at least 1")

    if not isinstance(app.get("request_log", False), bool):
        err(f"request_log {app['request_log']!r} is invalid; allowed: true or false")

    for problem in unit_limits.problems(app):
        err(problem)
    _check_source(app.get("source"), base_dir, err)
    _check_lists(app, err)


def _check_source(source: Any, base_dir: str, err: Callable[[str], None]) -> None:
    if source is None:
        return
    if not isinstance(source, Mapping):
        err("source must be a mapping with 'path', or 'git' and optionally 'version'")
        return
    for key in _unknown_keys(source, SOURCE_KEYS):
        err(f"source has unknown key '{key}'; allowed keys: {', '.join(sorted(SOURCE_KEYS))}")
    has_path, has_git = "path" in source, "git" in source
    if has_path == has_git:
        err("source needs exactly one of 'path' (a directory on the controller) or 'git' (a repository URL)")
    if has_path:
        path = source["path"]
        if not isinstance(path, str) or not path:
            err("source.path must be a non-empty string")
        elif not os.path.isdir(resolve_source(path, base_dir)):
            err(f"source.path {path!r} is not a directory on the controller "
                f"(looked at {resolve_source(path, base_dir)})")
    if has_git and (not isinstance(source["git"], str) or not source["git"]):
        err("source.git must be a repository URL")
    if "version" in source and not has_git:
        err("source.version is only allowed with source.git")


def _check_lists(app: AppSpec, err: Callable[[str], None]) -> None:
    packages = app.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) and p.strip() for p in packages):
        err("packages must be a list of pip requirement specifiers, e.g. ['flask>=3']")

    if "requirements" in app:
        problem = relative_path_problem(app["requirements"])
        if problem:
            err(f"requirements {app['requirements']!r} {problem}")
        elif not app.get("source"):
            err("requirements needs a source: it is a file inside the app's code directory")

    for problem in envfile.problems(app.get("env", {})):
        err(problem)

    static = app.get("static", [])
    if not isinstance(static, list):
        err("static must be a list of {url, path}")
        return
    for i, entry in enumerate(static):
        if not isinstance(entry, Mapping):
            err(f"static[{i}] must be a mapping with 'url' and 'path'")
            continue
        for key in _unknown_keys(entry, STATIC_KEYS):
            err(f"static[{i}] has unknown key '{key}'; allowed keys: path, url")
        url_problem = mount_problem(entry.get("url"))
        if url_problem or entry.get("url") == "/":
            err(f"static[{i}].url {entry.get('url')!r} is invalid; "
                "allowed: '/seg[/seg...]' relative to the app's mount")
        path_problem = relative_path_problem(entry.get("path"))
        if path_problem:
            err(f"static[{i}].path {entry.get('path')!r} {path_problem}")
        if not app.get("source"):
            err(f"static[{i}] needs a source: static files are served from the app's code directory")


def _is_live(app: Any) -> bool:
    """Absent apps are being removed: they cannot conflict with the others."""
    return isinstance(app, Mapping) and app.get("state", "present") != "absent"


def _check_conflicts(apps: Sequence[Any], errors: list[str]) -> None:
    seen_names: dict[str, int] = {}
    seen_mounts: dict[str, int] = {}
    for i, app in enumerate(apps):
        if not _is_live(app):
            continue
        name, mount = app.get("name"), app.get("mount")
        if isinstance(name, str):
            if name in seen_names:
                errors.append(f"{_app_label(i, app)}: name '{name}' is already used by "
                              f"appmount_apps[{seen_names[name]}]; names must be unique")
            seen_names.setdefault(name, i)
        if isinstance(mount, str):
            if mount in seen_mounts:
                other = apps[seen_mounts[mount]]
                errors.append(f"{_app_label(i, app)}: mount '{mount}' is already used by app "
                              f"'{other.get('name')}'; mounts must be unique")
            seen_mounts.setdefault(mount, i)
    for i, app in enumerate(apps):
        if not _is_live(app) or not isinstance(app.get("static"), list) or not isinstance(app.get("mount"), str):
            continue
        for entry in app["static"]:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
                continue
            full = join_url(app["mount"], entry["url"])
            if full in seen_mounts:
                other = apps[seen_mounts[full]]
                errors.append(f"{_app_label(i, app)}: static url '{full}' collides with the mount of app "
                              f"'{other.get('name')}'; choose another url")


def apps_errors(apps: Any, base_dir: str = ".") -> list[str]:
    """Every problem in ``appmount_apps``, each naming the app and the field."""
    if apps is None:
        return []
    if not isinstance(apps, list):
        return ["appmount_apps must be a list of apps"]
    errors: list[str] = []
    for i, app in enumerate(apps):
        if not isinstance(app, Mapping):
            errors.append(f"appmount_apps[{i}] must be a mapping with at least name, mount and module")
            continue
        _check_app(app, base_dir, lambda msg, i=i, app=app: errors.append(f"{_app_label(i, app)}: {msg}"))
    _check_conflicts(apps, errors)
    return errors


def apps_normalize(apps: Sequence[AppSpec], root: str, base_dir: str = ".", listen: int = 1024, processes: int = 2,
                   nginx_dir: str = "/etc/nginx/appmount", threads: int = 4, request_log: bool = False,
                   limits: Mapping[str, Any] | None = None) -> list[App]:
    """The records used by the role's tasks and templates, one per app (see ``module_utils.app.App``).

    ``limits`` holds the role's defaults of ``memory_max``, ``cpu_quota`` and ``tasks_max``."""
    defaults = {"memory_max": "infinity", "cpu_quota": "", "tasks_max": "infinity", **(limits or {})}
    result: list[App] = []
    for app in apps or []:
        name, mount = app["name"], app["mount"]
        home = f"{root}/{name}"
        source = dict(app.get("source") or {})
        code: Code
        if "path" in source:
            code = {"kind": "path", "path": resolve_source(source["path"], base_dir)}
        elif "git" in source:
            code = {"kind": "git", "repo": source["git"], "version": str(source.get("version", "HEAD"))}
        else:
            code = {"kind": "none"}
        code_dir = f"{home}/current/code"
        env = {"APPMOUNT_APP": name, "APPMOUNT_MOUNT": mount, "APPMOUNT_DATA_DIR": f"{home}/data"}
        env.update({str(k): _env_value(v) for k, v in (app.get("env") or {}).items()})
        uwsgi_ini, env_file = f"/etc/uwsgi/apps-available/{name}.ini", f"/etc/uwsgi/apps-available/{name}.env"
        nginx_conf = f"{nginx_dir}/locations-available/{name}.conf"
        dropin = f"/etc/systemd/system/appmount-app@{name}.service.d/appmount.conf"
        # the socket's directory (systemd's) and, from earlier versions, Debian's per-app log
        run_dir, log = f"/run/uwsgi/app/{name}", f"/var/log/uwsgi/app/{name}.log"
        result.append({
            "name": name, "mount": mount, "module": app["module"], "state": app.get("state", "present"),
            "user": f"_{name}", "home": home,
            "code": code, "code_dir": code_dir, "data_dir": f"{home}/data", "venv": f"{home}/current/venv",
            "fifo": f"/run/appmount/{name}/fifo", "env_file": env_file, "unit_dropin": dropin,
            **{key: str(app.get(key, defaults[key])) for key in unit_limits.KEYS},
            "packages": list(app.get("packages") or []),
            "requirements": app.get("requirements"),
            "env": env,
            "processes": app.get("processes", processes), "threads": app.get("threads", threads),
            "request_log": app.get("request_log", request_log),
            "listen": listen,
            "socket": f"{run_dir}/socket",
            "uwsgi_ini": uwsgi_ini, "uwsgi_enabled": f"/etc/uwsgi/apps-enabled/{name}.ini",
            "nginx_conf": nginx_conf, "nginx_enabled": f"{nginx_dir}/locations-enabled/{name}.conf",
            # what an absent app leaves behind on the host once its nginx location is gone
            "purge": [uwsgi_ini, env_file, os.path.dirname(dropin), home, run_dir, log],
            "location": "/" if mount == "/" else mount + "/",
            "static": [{"url": join_url(mount, s["url"]) + "/", "dir": f"{code_dir}/{s['path'].strip('/')}/"}
                       for s in app.get("static") or []],
        })
    return result


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class FilterModule:
    """appmount.wsgi app filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"apps_errors": apps_errors, "apps_normalize": apps_normalize}
