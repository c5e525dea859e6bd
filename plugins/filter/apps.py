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
from ansible_collections.appmount.wsgi.plugins.plugin_utils import appspec
from ansible_collections.appmount.wsgi.plugins.plugin_utils.conflicts import check_conflicts, join_url
from ansible_collections.appmount.wsgi.plugins.plugin_utils.refusals import collector, item_label

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")
SEGMENT_RE = re.compile(r"^[A-Za-z0-9_~.-]+\Z")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
MODULE_RE = re.compile(rf"^{IDENT}(\.{IDENT})*:{IDENT}\Z")
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


def resolve_source(path: str, base_dir: str) -> str:
    """An absolute, normalized controller path for ``source.path``."""
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base_dir, path))


def _check_app(app: AppSpec, base_dir: str, err: Callable[[str], None]) -> None:
    """The spec's checks (keys, types, choices), then what a spec cannot say; each only on a field of the right type."""
    for problem in appspec.problems(app, appspec.app_options()):
        err(problem)

    name = app.get("name")
    if isinstance(name, str) and not NAME_RE.match(name):
        err(f"name {name!r} is invalid; allowed: lower-case letters, digits and '-', starting with a letter, "
            "at most 31 characters")

    mount = app.get("mount")
    mount_issue = mount_problem(mount) if isinstance(mount, str) else None
    if mount_issue:
        err(f"mount {mount!r} {mount_issue}; allowed: '/' or '/seg[/seg...]' without a trailing slash")

    module = app.get("module")
    if isinstance(module, str) and not MODULE_RE.match(module):
        err(f"module {module!r} is invalid; allowed: 'python.module:callable', "
            "e.g. 'app:app' or 'mysite.wsgi:application'")

    for key in ("processes", "threads"):
        value = app.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            err(f"{key} {value!r} is invalid; allowed: an integer of at least 1")

    packages = app.get("packages")
    if isinstance(packages, list) and any(isinstance(p, str) and not p.strip() for p in packages):
        err("packages must not contain empty requirement specifiers")

    hooks = app.get("hooks")
    for i, hook in enumerate(hooks if isinstance(hooks, list) else []):
        if not isinstance(hook, Mapping):
            continue
        if isinstance(hook.get("argv"), list) and not hook["argv"]:
            err(f"hooks[{i}].argv must name a command, e.g. ['python', 'manage.py', 'migrate', '--noinput']")
        timeout = hook.get("timeout")
        if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout < 1:
            err(f"hooks[{i}].timeout {timeout!r} is invalid; allowed: an integer of at least 1 (seconds)")

    for problem in unit_limits.problems(app):
        err(problem)
    if isinstance(app.get("env"), Mapping):
        for problem in envfile.problems(app["env"]):
            err(problem)
    _check_source(app, base_dir, err)
    _check_static(app, err)


def _check_source(app: AppSpec, base_dir: str, err: Callable[[str], None]) -> None:
    source = app.get("source")
    if "requirements" in app and isinstance(app["requirements"], str):
        problem = relative_path_problem(app["requirements"])
        if problem:
            err(f"requirements {app['requirements']!r} {problem}")
        elif not source:
            err("requirements needs a source: it is a file inside the app's code directory")
    if not isinstance(source, Mapping):
        return
    has_path, has_git = "path" in source, "git" in source
    if has_path == has_git:
        err("source needs exactly one of 'path' (a directory on the controller) or 'git' (a repository URL)")
    path = source.get("path")
    if isinstance(path, str):
        if not path:
            err("source.path must not be empty")
        elif not os.path.isdir(resolve_source(path, base_dir)):
            err(f"source.path {path!r} is not a directory on the controller "
                f"(looked at {resolve_source(path, base_dir)})")
    if has_git and source["git"] == "":
        err("source.git must be a repository URL")
    if "version" in source and not has_git:
        err("source.version is only allowed with source.git")


def _check_static(app: AppSpec, err: Callable[[str], None]) -> None:
    static = app.get("static")
    if not isinstance(static, list):
        return
    for i, entry in enumerate(static):
        if not isinstance(entry, Mapping):
            continue
        url, path = entry.get("url"), entry.get("path")
        if isinstance(url, str) and (mount_problem(url) or url == "/"):
            err(f"static[{i}].url {url!r} is invalid; allowed: '/seg[/seg...]' relative to the app's mount")
        path_problem = relative_path_problem(path) if isinstance(path, str) else None
        if path_problem:
            err(f"static[{i}].path {path!r} {path_problem}")
        if entry.get("root", "code") == "code" and not app.get("source"):
            err(f"static[{i}] needs a source: static files are served from the app's code directory "
                "(or use root: release, the directory that hooks write)")


def idle_minimum(start_limit: Sequence[int]) -> int:
    """The shortest ``idle_timeout`` under systemd's start limit ``(interval, burst)``: an app woken again right after
    each idle exit starts at most once per ``idle_timeout``, which must not reach ``burst`` starts in ``interval``."""
    interval, burst = start_limit
    return interval // max(1, burst - 1) + 1


def idle_problem(value: Any, start_limit: Sequence[int]) -> str | None:
    """What is wrong with an ``idle_timeout`` under the start limit, or None (0 is always running)."""
    if not isinstance(value, int) or isinstance(value, bool) or value == 0 or value >= idle_minimum(start_limit):
        return None
    return (f"{value!r} is too short: every wake is a start, and systemd gives up on an app that starts "
            f"{start_limit[1]} times in {start_limit[0]} s (apps_start_limit_burst, apps_start_limit_interval); "
            f"allowed: 0 (always running) or at least {idle_minimum(start_limit)} (seconds)")


def apps_errors(apps: Any, base_dir: str = ".", sites: Sequence[str] = (),
                start_limit: Sequence[int] = (60, 5), idle_default: int = 0) -> list[str]:
    """Every problem in ``appmount_apps``, each naming the app and the field. ``sites`` names the nginx role's sites
    (``nginx_site_endpoints``), the first serving the apps without ``site``; empty - sites are not checked.
    ``start_limit`` is the apps' systemd start limit (``apps_start_limit_interval``, ``apps_start_limit_burst``), and
    ``idle_default`` the ``idle_timeout`` of the apps that do not set it (``apps_default_idle_timeout``)."""
    if apps is None:
        return []
    if not isinstance(apps, list):
        return ["appmount_apps must be a list of apps"]
    errors: list[str] = []
    idle_default_problem = idle_problem(idle_default, start_limit)
    if idle_default_problem:
        errors.append(f"apps_default_idle_timeout {idle_default_problem}")
    for i, app in enumerate(apps):
        if not isinstance(app, Mapping):
            errors.append(f"appmount_apps[{i}] must be a mapping with at least name, mount and module")
            continue
        err = collector(errors, item_label("appmount_apps", i, app))
        _check_app(app, base_dir, err)
        idle = idle_problem(app.get("idle_timeout"), start_limit)
        if idle:
            err(f"idle_timeout {idle}")
        # an absent app's site may be gone already: its locations are removed from every site
        if sites and isinstance(app.get("site"), str) and app["site"] not in sites and app.get("state") != "absent":
            err(f"site {app['site']!r} is not a site of nginx_sites; sites: {', '.join(sites)}")
    check_conflicts(apps, errors, sites[0] if sites else None)
    return errors


def apps_normalize(apps: Sequence[AppSpec], root: str, base_dir: str, sites: Sequence[Mapping[str, Any]],
                   socket_dir: str, defaults: Mapping[str, Any]) -> list[App]:
    """The records used by the role's tasks and templates, one per app (see ``module_utils.app.App``).

    ``sites`` is the nginx role's ``nginx_site_endpoints``: each site's ``name`` and ``locations_dir``, the first
    site serving the apps without ``site``. An app's location files in the other sites' directories are ``stale``.

    An app's key falls back to the spec's default (``state``, ``packages``, ...), then to ``defaults``: the role's
    ``apps_default_*`` values by key name (``processes``, ``threads``, ``request_log``, ``memory_max``,
    ``cpu_quota``, ``tasks_max``, ``idle_timeout``) and ``listen`` (every app's socket backlog)."""
    result: list[App] = []
    dirs = {str(site["name"]): str(site["locations_dir"]) for site in sites}
    for given in apps or []:
        app = appspec.with_defaults({**defaults, **given})
        name, mount = app["name"], app["mount"]
        site = app["site"] if app.get("site") in dirs else str(sites[0]["name"])  # absent: its site may be gone
        nginx_dir = dirs[site]
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
        static_dir = f"{home}/current/static"
        env = {str(k): _env_value(v) for k, v in app["env"].items()}
        # the collection's own variables win over the app's; the cookie wrapper reads APPMOUNT_CALLABLE
        env.update({"APPMOUNT_APP": name, "APPMOUNT_MOUNT": mount, "APPMOUNT_DATA_DIR": f"{home}/data",
                    "APPMOUNT_STATIC_DIR": static_dir, "APPMOUNT_CALLABLE": app["module"]})
        uwsgi_ini, env_file = f"/etc/uwsgi/apps-available/{name}.ini", f"/etc/uwsgi/apps-available/{name}.env"
        nginx_conf = f"{nginx_dir}/locations-available/{name}.conf"
        dropin = f"/etc/systemd/system/appmount-app@{name}.service.d/appmount.conf"
        # the socket's directory (systemd's) and, from earlier versions, Debian's per-app log
        run_dir, log = f"{socket_dir}/{name}", f"/var/log/uwsgi/app/{name}.log"
        result.append({
            "name": name, "mount": mount, "module": app["module"], "state": app["state"],
            "user": f"_{name}", "home": home,
            "code": code, "code_dir": code_dir, "data_dir": f"{home}/data", "venv": f"{home}/current/venv",
            "fifo": f"/run/appmount/{name}/fifo", "env_file": env_file, "unit_dropin": dropin,
            "memory_max": str(app["memory_max"]), "cpu_quota": str(app["cpu_quota"]),
            "tasks_max": str(app["tasks_max"]),
            "packages": list(app["packages"]),
            "requirements": app.get("requirements"),
            "env": env,
            "processes": app["processes"], "threads": app["threads"], "request_log": app["request_log"],
            "listen": app["listen"], "idle_timeout": app["idle_timeout"],
            "socket": f"{run_dir}/socket",
            "uwsgi_ini": uwsgi_ini, "uwsgi_enabled": f"/etc/uwsgi/apps-enabled/{name}.ini",
            "site": site, "nginx_conf": nginx_conf, "nginx_enabled": f"{nginx_dir}/locations-enabled/{name}.conf",
            # its location in another site's directory (the app moved): removed with the other nginx changes
            "nginx_stale": [f"{other}/{sub}/{name}.conf" for other in sorted(set(dirs.values()) - {nginx_dir})
                            for sub in ("locations-enabled", "locations-available")],
            # what an absent app leaves behind on the host once its nginx location is gone
            "purge": [uwsgi_ini, env_file, os.path.dirname(dropin), home, run_dir, log],
            "location": "/" if mount == "/" else mount + "/",
            "static": [{"url": join_url(mount, s["url"]) + "/",
                        "dir": os.path.normpath(f"{code_dir if s['root'] == 'code' else static_dir}/{s['path']}") + "/"}
                       for s in app["static"]],
            "static_dir": static_dir,
            "hooks": [{"argv": [str(a) for a in h["argv"]], "timeout": h["timeout"], "once": h["once"]}
                      for h in app["hooks"]],
            "scope_cookies": app["scope_cookies"] and mount != "/",
            "prefix_check": app["prefix_check"],
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
