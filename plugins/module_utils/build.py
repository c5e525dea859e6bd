# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Step 1 of a run: the new releases, and the new settings of apps that keep their release, each import-tested
with the environment, sandbox and limits its unit will run with, before anything switches or restarts."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App, HostFile
from ansible_collections.appmount.wsgi.plugins.module_utils.installer import PIP, Installer, uv_installer
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import (
    Settings,
    build_release,
    code_id,
    has_release,
    import_test,
    release_id,
)
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def files_of(app: App, kind: str) -> list[HostFile]:
    return [entry for entry in app.get("files", []) if entry["kind"] == kind]


def content_of(app: App, kind: str) -> str:
    return "".join(entry["content"] for entry in files_of(app, kind))


def missing_releases(apps: list[App]) -> list[str]:
    """Names of the present apps with code from the controller whose release does not exist yet and whose code was
    not sent (``code.archive``)."""
    return [app["name"] for app in apps if app["state"] == "present" and app["code"]["kind"] == "path"
            and not app["code"].get("archive") and not has_release(app["home"], release_id(app, app["code"]["id"]))]


class Builder:
    """Builds and tests; a new environment waits in a staged file until the app is restarted with it."""

    def __init__(self, run: Run, run_once_hooks: bool = True, jobs: int = 0, uv: tuple[str, str] | None = None) -> None:
        self.run = run
        self.jobs = jobs or len(os.sched_getaffinity(0))  # builds at a time; 0: the host's cores
        self.uv = uv  # (its directory, its version) to build with uv; None: with pip
        self.run_once_hooks = run_once_hooks
        self.staged: dict[str, str] = {}  # app name -> its new environment file, tested before it is put in place

    def clean(self) -> None:
        for path in self.staged.values():
            if os.path.exists(path):
                os.unlink(path)

    def build(self, present: list[App]) -> tuple[dict[str, str], set[str], set[str]]:
        """New releases, and new settings of apps that keep their release, each import-tested in the unit's sandbox.

        Returns the release of each app that has one ready, the apps with nothing to serve, and the apps whose new
        environment or unit settings failed their test (they keep running as they are).
        """
        run = self.run
        ready: dict[str, str] = {}
        unusable: set[str] = set()  # present apps whose first release failed: nothing to route to or start
        refused: set[str] = set()
        builds: list[tuple[App, str, str, Settings]] = []
        for app in present:
            name, settings = app["name"], self.settings(app)
            cid = code_id(run, app)
            if cid is None:
                if not os.path.islink(f"{app['home']}/current"):
                    unusable.add(name)
                continue
            rid = release_id(app, cid)
            if not has_release(app["home"], rid):
                run.note(name, "built", rid)
                if not run.check:
                    builds.append((app, rid, cid, settings))
                    continue
            elif not run.check and self.settings_changed(app):  # the release exists: its settings changed
                if not import_test(run, app, f"{app['home']}/releases/{rid}", settings._replace(release_is_new=False)):
                    refused.add(name)
                    continue
            ready[name] = rid
        for (app, rid, _cid, _settings), built in zip(builds, self.build_all(builds)):
            if built:
                ready[app["name"]] = rid
            else:  # nothing to serve yet, or the app keeps its release and its settings as they are
                (refused if os.path.islink(f"{app['home']}/current") else unusable).add(app["name"])
        return ready, unusable, refused

    def build_all(self, builds: list[tuple[App, str, str, Settings]]) -> list[bool]:
        """The new releases, built at once, as many at a time as the host has cores (venv creation, pip and the
        import test are mostly CPU)."""
        if not builds:
            return []
        os.umask(0o022)  # the releases (and uv's cache, whose files are linked into every venv) readable by the apps
        installer = self.installer()

        def one(build: tuple[App, str, str, Settings]) -> bool:
            app, rid, cid, settings = build
            return build_release(self.run, app, rid, cid, settings, installer)

        if len(builds) < 2 or self.jobs == 1:
            return [one(build) for build in builds]
        with ThreadPoolExecutor(max_workers=min(len(builds), self.jobs)) as pool:
            return list(pool.map(one, builds))

    def installer(self) -> Installer:
        """uv (installed first when missing) or pip; asked only when there is something to build."""
        return uv_installer(self.run, *self.uv) if self.uv else PIP

    def settings(self, app: App) -> Settings:
        """The app's new drop-in, and its new environment staged in a file of its own when it changed."""
        env = content_of(app, "env")
        env_file = app["env_file"]
        if not self.run.check and self.differs(env_file, env):
            env_file = self.staged[app["name"]] = f"{app['env_file']}.appmount-new"
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(env)
        return Settings(content_of(app, "systemd"), env_file, run_once_hooks=self.run_once_hooks)

    def settings_changed(self, app: App) -> bool:
        return app["name"] in self.staged or self.differs(app["unit_dropin"], content_of(app, "systemd"))

    @staticmethod
    def differs(path: str, content: str) -> bool:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read() != content
        except OSError:
            return True
