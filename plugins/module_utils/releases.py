# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An app's releases: HOME/releases/<id> (code and virtualenv), HOME/current -> releases/<id>, and
HOME/releases/history (the ids in the order they were switched to, the newest last)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from typing import NamedTuple

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.hooks import run_hooks, static_dir
from ansible_collections.appmount.wsgi.plugins.module_utils.hostfiles import HostFiles
from ansible_collections.appmount.wsgi.plugins.module_utils.installer import PIP, Installer
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import sandboxed

IMPORT_TIMEOUT_S = 120


class Settings(NamedTuple):
    """What an app's unit will run with: its drop-in (sandbox, limits) and the environment file to test."""

    dropin: str
    env_file: str
    release_is_new: bool = True
    run_once_hooks: bool = True  # whether the hooks marked ``once`` run on this host


IMPORT_TEST = (
    "import importlib, sys\n"
    "name, attr = sys.argv[1].split(':')\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "app = getattr(importlib.import_module(name), attr)\n"
    "assert callable(app), sys.argv[1] + ' is not callable'\n"
)


def release_id(app: App, cid: str) -> str:
    """Code, packages, the callable and the hooks: a change of any of them is a new, import-tested release
    (without hooks, the ids of releases built before hooks existed)."""
    key: list[object] = [cid, app["packages"], app["module"]]
    if app["hooks"]:
        key.append(app["hooks"])
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]


def code_id(run: Run, app: App) -> str | None:
    """The id of the app's code: the controller's digest, the commit of ``code.version`` in the app's git
    mirror (cloned or fetched first), or "none"; None when it cannot be known (the error is in ``run.errors``
    unless the mirror does not exist yet in check mode)."""
    code = app["code"]
    if code["kind"] == "path":
        return code["id"]
    if code["kind"] == "none":
        return "none"
    mirror = f"{app['home']}/git"
    if run.check and not os.path.isdir(mirror):
        return None
    if not os.path.isdir(mirror):
        run.checked(["git", "clone", "--quiet", "--mirror", code["repo"], mirror])
    elif not run.check:
        run.checked(["git", "--git-dir", mirror, "fetch", "--quiet", "--prune", "origin", "+refs/*:refs/*"])
    rev = run.command(["git", "--git-dir", mirror, "rev-parse", "--verify", f"{code['version']}^{{commit}}"])
    if rev.returncode != 0:
        run.errors.append(f"{app['name']}: source.version {code['version']!r} is not in {code['repo']}")
        return None
    return rev.stdout.strip()


def import_test(run: Run, app: App, release: str, settings: Settings) -> bool:
    """Import the app's callable from ``release`` as the app's user, with the environment, sandbox and limits
    ``settings`` gives its unit: what passes here also starts in the unit. False (and an error) when it fails."""
    test = sandboxed(run, app, settings.dropin, [f"{release}/venv/bin/python", "-c", IMPORT_TEST, app["module"],
                                                 f"{release}/code"], cwd=f"{release}/code",
                     env_file=settings.env_file, timeout=IMPORT_TIMEOUT_S)
    if test.returncode == 0:
        return True
    what = "the new release" if settings.release_is_new else "the new environment or unit settings"
    run.errors.append(f"{app['name']}: {what} does not import {app['module']!r}; it is not used (the app, if it "
                      f"runs, keeps serving as it was).\n{(test.stderr or test.stdout).strip()}")
    return False


def build_release(run: Run, app: App, rid: str, cid: str, settings: Settings, installer: Installer = PIP) -> bool:
    """Build releases/<rid> (code + a venv of ``installer``), import-test it and run its hooks; False when one of
    them fails.

    The release counts as built only once its ``code-id`` marker exists, written last.
    """
    home = app["home"]
    final = f"{home}/releases/{rid}"
    if os.path.lexists(final):
        shutil.rmtree(final)
    os.makedirs(f"{final}/code", 0o755)
    os.makedirs(static_dir(final), 0o755)
    code = app["code"]
    if code["kind"] == "path":
        with tarfile.open(code["archive"]) as archive:
            try:
                archive.extractall(f"{final}/code", filter="data")
            except TypeError:  # Python without tarfile extraction filters
                archive.extractall(f"{final}/code")
    elif code["kind"] == "git":
        tarball = f"{final}.tar"
        try:
            if not (_build_step(run, app, final, "git", ["git", "--git-dir", f"{home}/git", "archive", "--format=tar",
                                                         "-o", tarball, cid])
                    and _build_step(run, app, final, "tar", ["tar", "-x", "--no-same-owner", "-C", f"{final}/code",
                                                             "-f", tarball])):
                return False
        finally:
            if os.path.exists(tarball):
                os.unlink(tarball)
    for root, dirs, files in os.walk(f"{final}/code"):
        for entry in dirs + files:
            os.lchown(os.path.join(root, entry), 0, 0)
    os.chmod(f"{final}/code", 0o755)
    venv = f"{final}/venv"
    if not _build_step(run, app, final, "uv" if installer.uv else "python3", installer.venv(venv), installer):
        return False
    installs = ([["-r", f"{final}/code/{app['requirements']}"]] if app.get("requirements") else []) + (
        [app["packages"]] if app["packages"] else [])
    for args in installs:
        if not _build_step(run, app, final, "uv" if installer.uv else "pip", installer.install(venv, args), installer):
            return False
    usable = import_test(run, app, final, settings) and run_hooks(run, app, final, settings.dropin,
                                                                  settings.run_once_hooks)
    if not usable:
        shutil.rmtree(final)
        return False
    with open(f"{final}/code-id", "w", encoding="utf-8") as handle:
        handle.write(cid + "\n")
    return True


def _build_step(run: Run, app: App, final: str, what: str, argv: list[str], installer: Installer = PIP) -> bool:
    """One command of a build; when it fails, the release goes and the app's error says why. Builds run in threads:
    a plain ``subprocess`` (not ``run_command``, whose failures end the module), a failure the app's alone."""
    try:
        proc = run.run(argv, stdin=subprocess.DEVNULL, env=installer.env())
    except OSError as exc:
        proc = subprocess.CompletedProcess(argv, 127, "", str(exc))
    if proc.returncode == 0:
        return True
    shutil.rmtree(final, ignore_errors=True)
    run.errors.append(f"{app['name']}: {what} could not build the new release ({' '.join(argv[1:])}); it is not "
                      f"switched to (the current release, if any, keeps serving).\n"
                      f"{(proc.stderr or proc.stdout).strip()}")
    return False


def has_release(home: str, rid: str) -> bool:
    return os.path.isfile(f"{home}/releases/{rid}/code-id")


def history(home: str) -> list[str]:
    """Release ids in the order they were switched to, the newest last."""
    path = f"{home}/releases/history"
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def save_history(home: str, ids: list[str]) -> None:
    with open(f"{home}/releases/history", "w", encoding="utf-8") as handle:
        handle.write("".join(f"{rid}\n" for rid in ids))


def current_release(home: str) -> str | None:
    current = f"{home}/current"
    return os.path.basename(os.readlink(current)) if os.path.islink(current) else None


def switch(files: HostFiles, app: App, rid: str) -> bool:
    """Point `current` at the release, atomically; the release becomes the newest of the history."""
    run = files.run
    if not files.link(f"{app['home']}/current", f"releases/{rid}", "release"):
        return False
    run.note(app["name"], "switched", rid)
    if not run.check:
        save_history(app["home"], [r for r in history(app["home"]) if r != rid] + [rid])
    return True


def prune(files: HostFiles, app: App, keep: int) -> None:
    """Remove all releases but the ``keep`` newest of the history and the current one."""
    home = app["home"]
    hist = history(home)
    keep_ids = set(hist[-keep:]) | {current_release(home)}
    for entry in os.listdir(f"{home}/releases"):
        if entry != "history" and entry not in keep_ids:
            files.remove(f"{home}/releases/{entry}")
    if not files.run.check and hist != [r for r in hist if r in keep_ids]:
        save_history(home, [r for r in hist if r in keep_ids])


def rollback_target(home: str) -> str | None:
    """The release a rollback switches to: the newest of the history that is not current and still exists."""
    current = current_release(home)
    older = [r for r in history(home) if r != current and has_release(home, r)]
    return older[-1] if older else None


def demote(home: str, rid: str) -> None:
    """Make ``rid`` (the release rolled back from) the oldest of the history: the next rollback goes further back."""
    save_history(home, [rid] + [r for r in history(home) if r != rid])
