# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of appmount.wsgi.app_deploy.

Renders every app's uWSGI, environment, systemd and nginx files here, hashes each ``source.path``
directory, sends archives only for the releases the host lacks, and applies
everything in one module run: the cost of a run barely grows with the number
of apps.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from typing import Any, cast

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile
from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.plugin_utils.render import read_text, render, render_each

MODULE = "appmount.wsgi.app_deploy"
ENV_HEADER = ("# appmount.wsgi: the environment of app {name}, read by systemd (EnvironmentFile=),\n"
              "# which expands nothing: every value reaches the app as written in appmount_apps.\n")
SKIP_DIRS = frozenset(("__pycache__", ".git", ".hg", ".svn", ".venv", ".tox", ".mypy_cache", ".pytest_cache"))


def source_files(root: str) -> Iterator[tuple[str, str]]:
    """(relative path, absolute path) of every file of an app's code, in a stable order."""
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                full = os.path.join(current, name)
                yield os.path.relpath(full, root), full


def code_id(root: str) -> str:
    """A digest of names, executable bits and contents: equal code, equal release."""
    digest = hashlib.sha256()
    for rel, full in source_files(root):
        executable = os.stat(full).st_mode & stat.S_IXUSR
        with open(full, "rb") as handle:
            content = hashlib.sha256(handle.read()).hexdigest()
        digest.update(f"{rel}\0{1 if executable else 0}\0{content}\n".encode())
    return digest.hexdigest()[:16]


def archive(root: str, dest: str) -> None:
    """A gzip tarball of the app's code with root ownership and plain modes."""
    with tarfile.open(dest, "w:gz") as tar:
        for rel, full in source_files(root):
            info = tar.gettarinfo(full, arcname=rel)
            if not info.isfile():
                continue
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if info.mode & stat.S_IXUSR else 0o644
            with open(full, "rb") as handle:
                tar.addfile(info, handle)


class ActionModule(ActionBase):
    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("apps", "templates", "files", "keep_releases", "rollback", "nginx_apply",
                             "run_once_hooks", "sites", "build_jobs", "uv_version", "uv_dir"))

    def prepare(self, apps: list[App], templates: dict[str, str], task_vars: dict[str, Any]) -> None:
        kept = [app for app in apps if app["state"] != "absent"]
        ini, unit, nginx = (render_each(self, templates[kind], task_vars, kept) for kind in ("uwsgi", "unit", "nginx"))
        for app, ini_text, unit_text, nginx_text in zip(kept, ini, unit, nginx):
            app["files"] = [
                # read by uWSGI itself, which runs as the app's user
                {"path": app["uwsgi_ini"], "mode": "0640", "kind": "uwsgi", "group": app["user"], "content": ini_text},
                # read by systemd (and the app's release hooks), never parsed by uWSGI
                {"path": app["env_file"], "mode": "0640", "kind": "env", "group": app["user"],
                 "content": envfile.render(app["env"], ENV_HEADER.format(name=app["name"]))},
                {"path": app["unit_dropin"], "mode": "0644", "kind": "systemd", "content": unit_text},
                {"path": app["nginx_conf"], "mode": "0644", "kind": "nginx", "content": nginx_text},
            ]
            app["links"] = [
                {"path": app["uwsgi_enabled"], "src": app["uwsgi_ini"], "kind": "uwsgi"},
                {"path": app["nginx_enabled"], "src": app["nginx_conf"], "kind": "nginx"},
            ]
        ids: dict[str, str] = {}  # apps that share their code directory hash it once
        for app in apps:
            if app["code"]["kind"] == "path":
                path = app["code"]["path"]
                if path not in ids:
                    ids[path] = code_id(path)
                app["code"]["id"] = ids[path]

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        # copies: prepare() and send_archives() add keys to each app and its code
        apps: list[App] = [cast(App, dict(app, code=dict(app["code"]))) for app in args.get("apps") or []]
        common = {"keep_releases": args.get("keep_releases"), "nginx_apply": args.get("nginx_apply"),
                  "run_once_hooks": args.get("run_once_hooks", True), "build_jobs": args.get("build_jobs", 0),
                  "uv_version": args.get("uv_version"), "uv_dir": args.get("uv_dir")}
        try:
            if args.get("rollback"):
                result.update(self._execute_module(
                    MODULE, module_args=dict(common, apps=apps, rollback=args["rollback"]), task_vars=task_vars))
                return result
            templates = args.get("templates") or {}
            if not {"uwsgi", "unit", "nginx"} <= set(templates):
                raise AnsibleActionFail("templates needs 'uwsgi', 'unit' and 'nginx'")
            self.prepare(apps, templates, task_vars)
            files = [{"path": f["path"], "mode": f.get("mode", "0644"), "kind": f.get("kind", "nginx"),
                      "content": render(self, f["template"], task_vars) if "template" in f
                      else read_text(self, self._find_needle("files", f["src"]))} for f in args.get("files") or []]
            if "nginx_default" in templates:  # each site's answer outside its apps, in its locations directory
                sites = args.get("sites") or []
                files += [{"path": f"{site['locations_dir']}/locations-enabled/_default.conf", "mode": "0644",
                           "kind": "nginx", "content": text}
                          for site, text in zip(sites, render_each(self, templates["nginx_default"], task_vars, sites))]
            done = self._execute_module(MODULE, module_args=dict(common, apps=apps, files=files), task_vars=task_vars)
            if done.get("missing") and not done.get("failed"):  # nothing done: their code first, then the run
                self.send_archives(apps, set(done["missing"]))
                done = self._execute_module(MODULE, module_args=dict(common, apps=apps, files=files),
                                            task_vars=task_vars)
                if done.get("missing") and not done.get("failed"):
                    raise AnsibleActionFail(f"the code of {', '.join(done['missing'])} did not reach the host")
            result.update(done)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def send_archives(self, apps: list[App], missing: set[str]) -> None:
        remote_tmp = self._connection._shell.tmpdir
        sent = []
        with tempfile.TemporaryDirectory() as local_tmp:
            for app in apps:
                if app["name"] not in missing:
                    continue
                local = os.path.join(local_tmp, f"{app['name']}.tar.gz")
                archive(app["code"]["path"], local)
                remote = self._connection._shell.join_path(remote_tmp, f"{app['name']}.tar.gz")
                self._transfer_file(local, remote)
                app["code"]["archive"] = remote
                sent.append(remote)
        if sent:
            self._fixup_perms2([remote_tmp, *sent])
