# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app record: what ``appmount.wsgi.apps_normalize`` produces and the app_deploy action plugin completes.

Types only: the filter and action plugins (controller) and the modules (host) share them.
"""

from __future__ import annotations

from typing import Literal, TypedDict

CodeKind = Literal["path", "git", "none"]
State = Literal["present", "disabled", "absent"]


class _CodeKind(TypedDict):
    kind: CodeKind


class Code(_CodeKind, total=False):
    """Where an app's code comes from: ``kind`` says which of the other keys are set."""

    path: str  # kind path: the directory on the controller
    repo: str  # kind git: the repository URL
    version: str  # kind git: branch, tag or commit
    id: str  # kind path: digest of the code (action plugin)
    archive: str  # kind path: the code's tarball on the host, when the host lacks that release (action plugin)


class _HostFile(TypedDict):
    path: str
    content: str
    mode: str  # octal, e.g. "0644"
    kind: str  # "uwsgi", "env", "systemd" or "nginx" (nginx files are tested with nginx -t, restored on failure)


class HostFile(_HostFile, total=False):
    """A rendered file to write on the host, owned by root and ``group``."""

    group: str


class HostLink(TypedDict):
    """A symlink ``path`` -> ``src`` on the host."""

    path: str
    src: str
    kind: str


class Static(TypedDict):
    url: str  # full URL, with the mount and a trailing slash
    dir: str  # directory in the current release (its code or its static_dir), with a trailing slash


class Hook(TypedDict):
    """A command run in a new release after its import test and before the switch."""

    argv: list[str]
    timeout: int  # seconds
    once: bool  # run on one host only of a deploy across hosts


class _AppRecord(TypedDict):
    name: str
    mount: str
    module: str  # "python.module:callable"
    state: State
    user: str
    home: str
    code: Code
    code_dir: str
    data_dir: str
    venv: str
    fifo: str  # uWSGI's master FIFO (c: chain reload, q: graceful stop)
    env_file: str  # the app's systemd EnvironmentFile=
    unit_dropin: str  # appmount-app@NAME.service.d/appmount.conf: environment, sandbox, limits
    memory_max: str  # systemd MemoryMax=
    cpu_quota: str  # systemd CPUQuota= ("" for none)
    tasks_max: str  # systemd TasksMax=
    packages: list[str]
    requirements: str | None  # relative to the code directory
    env: dict[str, str]
    processes: int
    threads: int
    request_log: bool
    listen: int
    idle_timeout: int  # seconds without a request before the app exits until its next one; 0: always running
    socket: str
    uwsgi_ini: str
    uwsgi_enabled: str
    site: str  # the nginx site that serves the app (a name of nginx_site_endpoints)
    nginx_conf: str
    nginx_enabled: str
    nginx_stale: list[str]  # its location files in the other sites' directories, removed if they exist
    purge: list[str]  # what an absent app leaves behind once its nginx location is gone
    location: str
    static: list[Static]
    static_dir: str  # HOME/current/static: the served release's directory that hooks write
    hooks: list[Hook]
    scope_cookies: bool  # the cookie wrapper runs in front of the app
    prefix_check: bool  # the health gate checks that the app's answer stays under its mount


class App(_AppRecord, total=False):
    """One app of a host: every key of ``apps_normalize``; ``files`` and ``links`` come from the action plugin."""

    files: list[HostFile]
    links: list[HostLink]
