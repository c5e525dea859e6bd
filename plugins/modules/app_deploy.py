#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply the state of every app of a host in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_deploy
short_description: Apply the state of every WSGI app of a host in one run
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Used by the C(appmount.wsgi.apps) role, through the action plugin of the same name, which renders the files on
    the controller and sends the code of C(source.path) apps as archives. One run handles every app of the host.
  - For each present app, builds a release (code and virtualenv) beside the current one when its code or packages
    changed, imports the app's module in the new release as the app's user, with the environment, sandbox and limits
    of its unit (C(systemd-run)), before anything switches, then switches the C(current) symlink atomically and
    chain-reloads that app alone (C(systemctl reload), uWSGI's chain reload).
  - A change of the environment or of the unit's settings alone is import-tested the same way before the app is
    restarted with it.
  - Writes the rendered uWSGI, environment, systemd and nginx files and the enabled symlinks; when an nginx file
    changed, runs I(nginx_apply), which tests the configuration and puts every nginx file of this run back when
    nginx refuses it.
  - Starts (and enables) the units of present apps that are down and restarts those whose ini, environment or unit
    settings changed; stops and disables the units of disabled and absent apps (after removing their uWSGI symlinks,
    so that nothing starts them again) and removes every trace of absent apps.
  - Hands over to its unit an app instance that Debian's init script started under an earlier version - the unit's
    socket takes the socket path, the old instance answers the connections it holds, then stops.
options:
  apps:
    description: The apps, as prepared by the role (see C(appmount.wsgi.apps_normalize)).
    type: list
    elements: dict
    required: true
  files:
    description: Files that belong to no single app (path, content, mode, kind).
    type: list
    elements: dict
    default: []
  keep_releases:
    description: Releases kept per app, the current one included (the role's I(apps_keep_releases)).
    type: int
    required: true
  rollback:
    description: Name of one app to switch back to its previous release (nothing else is done).
    type: str
  run_once_hooks:
    description:
      - Whether this host runs the apps' hooks marked C(once) (in a deploy across hosts, one host only does); when
        false they are skipped and each app's report says which (C(hooks_skipped_once)).
    type: bool
    default: true
  build_jobs:
    description: New releases built at the same time (venv, packages, import test, hooks); C(0) - one per core.
    type: int
    default: 0
  uv_version:
    description:
      - Build new releases with this uv, installed in I(uv_dir) with Debian's pip when missing. Omitted - with pip,
        also used (with a warning) where uv cannot be installed or pip's configuration names a package source.
    type: str
  uv_dir:
    description: Where uv is installed and keeps its cache, which every app's builds share.
    type: path
  nginx_apply:
    description:
      - The nginx role's script (its I(nginx_apply_command)) - C(nginx -t), the previous files put back when nginx
        refuses them, C(--reload). Required when nginx files change and nginx is installed.
    type: path
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
# Used by the appmount.wsgi.apps role; see roles/apps/tasks/deploy.yml.
- name: Apply every app's state
  appmount.wsgi.app_deploy:
    apps: "{{ apps }}"
"""

RETURN = r"""
apps:
  description: Per app, what was done (release, switched, files, action) by name.
  type: dict
  returned: always
nginx_changed:
  description: Whether an nginx file or symlink changed (the role then reloads nginx).
  type: bool
  returned: always
missing:
  description:
    - Apps with code from the controller whose release does not exist and whose C(code.archive) was not sent - the
      run stopped before any change (except in check mode); the action plugin sends their code and runs it again.
  type: list
  returned: when code is missing
"""

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.accounts import drop_account, ensure_account
from ansible_collections.appmount.wsgi.plugins.module_utils.app import App, HostFile
from ansible_collections.appmount.wsgi.plugins.module_utils.build import Builder, files_of, missing_releases
from ansible_collections.appmount.wsgi.plugins.module_utils.hostfiles import HostFiles
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import (
    current_release,
    demote,
    history,
    prune,
    rollback_target,
    switch,
)
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Module, Run
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import Units


class Deployer:
    """The order of a run; what each step does is in module_utils."""

    def __init__(self, module: Module, nginx_apply: str | None = None, run_once_hooks: bool = True,
                 build_jobs: int = 0, uv: tuple[str, str] | None = None) -> None:
        self.run = Run(module)
        self.nginx_apply = nginx_apply  # the nginx role's script: nginx -t, restore on failure, reload
        self.files = HostFiles(self.run)
        self.units = Units(self.run)
        self.builder = Builder(self.run, run_once_hooks, build_jobs, uv)

    def apply(self, apps: list[App], files: list[HostFile], keep: int) -> None:
        run, host = self.run, self.files
        live = [a for a in apps if a["state"] != "absent"]
        present = [a for a in apps if a["state"] == "present"]
        retired = [a for a in apps if a["state"] != "present"]
        # 1. accounts, directories, new releases and new settings, import-tested (nothing switches yet)
        for app in live:
            ensure_account(run, app)
            host.mkdir(app["home"])
            host.mkdir(app["data_dir"], owner=app["user"], mode=0o750)
            host.mkdir(f"{app['home']}/releases")
        try:
            ready, unusable, refused = self.builder.build(present)
            # 2. nginx: location files and links, tested before anything else moves
            for entry in files:
                if entry["kind"] == "nginx":
                    host.write(entry["path"], entry["content"], int(entry["mode"], 8), "nginx")
            self.route(apps, unusable)
            # 3. retire disabled and absent apps, 4. bring the others up (with the unit templates)
            self.units.refresh(apps)
            self.retire(retired)
            shared = [e for e in files if e["kind"] != "nginx"]
            self.bring_up(live, ready, unusable | refused, shared)
        finally:
            self.builder.clean()
        self.units.wait_for_chain_reloads()
        # old releases go only once no worker runs them any more
        for app in present:
            if app["name"] in ready and not run.check:
                prune(host, app, keep)

    def route(self, apps: list[App], unusable: set[str]) -> None:
        """nginx locations of every app (linked for present apps with a release), tested with ``nginx -t``."""
        host = self.files
        for app in apps:
            for entry in files_of(app, "nginx"):
                host.write(entry["path"], entry["content"], int(entry["mode"], 8), "nginx")
            if app["state"] == "present" and app["name"] not in unusable:
                for link in app.get("links", []):
                    if link["kind"] == "nginx":
                        host.link(link["path"], link["src"], "nginx")
            elif app["state"] != "present":
                host.remove(app["nginx_enabled"], "nginx")
            if app["state"] == "absent":
                host.remove(app["nginx_conf"], "nginx")
            for path in app.get("nginx_stale", []):  # the app moved to another site
                host.remove(path, "nginx")
        if host.nginx_changed and not self.run.check:
            host.test_nginx(self.nginx_apply)

    def retire(self, retired: list[App]) -> None:
        """Disabled and absent apps: unlinked first (nothing starts them again), then their units stopped."""
        purged = False
        for app in retired:
            self.files.remove(app["uwsgi_enabled"])
            self.units.stop(app["name"])
            if app["state"] == "absent":
                for path in app["purge"]:
                    purged = self.files.remove(path) or purged
                drop_account(self.run, app)
        if purged:
            self.units.daemon_reload()

    def bring_up(self, live: list[App], ready: dict[str, str], skipped: set[str], shared: list[HostFile]) -> None:
        """Files, release switches, then start / restart / chain reload of the apps that changed."""
        host = self.files
        restart: set[str] = set()
        # systemd reads a changed unit file only after daemon-reload: also when an earlier run wrote it and failed
        written = {e["kind"] for e in shared if host.write(e["path"], e["content"], int(e["mode"], 8), e["kind"])}
        systemd_changed = "systemd" in written or self.units.needs_daemon_reload()
        for app in live:
            if app["name"] in skipped and os.path.islink(f"{app['home']}/current"):
                continue  # its new settings failed their test: it keeps running with the ones it has
            for entry in files_of(app, "uwsgi") + files_of(app, "env") + files_of(app, "systemd"):
                if host.write(entry["path"], entry["content"], int(entry["mode"], 8), entry["kind"],
                              entry.get("group", "root")):
                    restart.add(app["name"])
                    systemd_changed = systemd_changed or entry["kind"] == "systemd"
        if systemd_changed:
            self.units.daemon_reload()
        for app in live:
            name = app["name"]
            if app["state"] != "present" or name in skipped:
                continue
            switched = name in ready and switch(host, app, ready[name])
            for link in app.get("links", []):
                if link["kind"] == "uwsgi":
                    host.link(link["path"], link["src"], "uwsgi")
            release = current_release(app["home"])
            if release:
                self.run.report.setdefault(name, {})["release"] = release
            reload = switched or ("python" in written and app["scope_cookies"])  # new code, or a new cookie wrapper
            # scaling to zero, it may exit at any moment: restarted if awake, never chain-reloaded (see Units)
            if app.get("idle_timeout") and (self.units.is_idle(app) or self.units.is_running(name)):
                if name in restart or reload:
                    self.units.restart_if_awake(name)
            elif not self.units.is_running(name):
                self.units.start(name)
                continue
            elif name in restart:
                self.units.restart(name)
            elif reload:
                self.units.chain_reload(app)
            self.units.enable(name)

    def rollback(self, app: App) -> None:
        """Switch back to the newest older release and chain-reload onto it (restart, if it scales to zero)."""
        run, home = self.run, app["home"]
        current = current_release(home)
        target = rollback_target(home)
        if target is None:
            run.fail(f"{app['name']}: no previous release to roll back to (kept: {history(home)})")
        run.report.setdefault(app["name"], {})["release"] = target
        if switch(self.files, app, target) and not run.check:
            if current:  # the release rolled back from becomes the oldest: the next rollback goes further back
                demote(home, current)
            self.units.refresh([app])
            if app.get("idle_timeout"):  # scaling to zero: see bring_up
                self.units.restart_if_awake(app["name"])
            else:
                self.units.chain_reload(app)
                self.units.wait_for_chain_reloads()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "apps": {"type": "list", "elements": "dict", "required": True},
            "files": {"type": "list", "elements": "dict", "default": []},
            "keep_releases": {"type": "int", "required": True},
            "rollback": {"type": "str"}, "nginx_apply": {"type": "path"},
            "run_once_hooks": {"type": "bool", "default": True}, "build_jobs": {"type": "int", "default": 0},
            "uv_version": {"type": "str"}, "uv_dir": {"type": "path"},
        },
        required_by={"uv_version": "uv_dir"},
        supports_check_mode=True,
    )
    params = module.params
    uv = (params["uv_dir"], params["uv_version"]) if params["uv_version"] else None
    deployer = Deployer(module, params["nginx_apply"], params["run_once_hooks"], params["build_jobs"], uv)
    run = deployer.run
    apps: list[App] = module.params["apps"]
    missing = [] if module.check_mode or module.params["rollback"] else missing_releases(apps)
    if missing:  # a first call: nothing is done until the action plugin has sent their code
        module.exit_json(changed=False, missing=missing)
    if module.params["rollback"]:
        target = [a for a in apps if a["name"] == module.params["rollback"]]
        if not target:
            module.fail_json(msg=f"no app named {module.params['rollback']!r} on this host")
        deployer.rollback(target[0])
    else:
        deployer.apply(apps, module.params["files"], module.params["keep_releases"])
    result: dict[str, Any] = {"changed": run.changed, "apps": run.report, "nginx_changed": deployer.files.nginx_changed}
    for warning in run.warnings:
        module.warn(warning)
    if module._diff:
        result["diff"] = run.diffs
    if run.errors:
        if deployer.files.nginx_changed and not module.check_mode and deployer.nginx_apply:
            # the play stops here and its handlers will not run: serve the routes of the apps that did deploy
            run.command([deployer.nginx_apply, "--reload"])
        module.fail_json(msg="\n\n".join(run.errors), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
