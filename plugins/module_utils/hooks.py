# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release hooks: an app's commands (``migrate``, ``collectstatic``) run in a new release after its import test and
before it is switched to.

Each runs as the app's user in the app's sandbox (its unit's drop-in, like the import test), in the release's code
directory, with the app's environment, the release's virtualenv first on ``PATH`` and ``APPMOUNT_STATIC_DIR`` set to
the release's own ``static/`` directory. That directory is the one place in the release the hooks may write: it
belongs to the app's user while they run, and to root, read-only, once they are done. The code stays root's.
"""

from __future__ import annotations

import os
import pwd
import shlex
import time

from ansible_collections.appmount.wsgi.plugins.module_utils import envfile
from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import sandboxed

# systemd's PATH for services, behind the release's virtualenv
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUTPUT_CHARS = 4000  # of a failed hook's output, in the play's message


def static_dir(release: str) -> str:
    return f"{release}/static"


def hook_env(app: App, release: str) -> dict[str, str]:
    """The app's environment as its hooks see it: this release's static directory and virtualenv."""
    return dict(app["env"], APPMOUNT_STATIC_DIR=static_dir(release), VIRTUAL_ENV=f"{release}/venv",
                PATH=f"{release}/venv/bin:{SERVICE_PATH}")


def resolve(command: str, release: str) -> str | None:
    """``command`` as a path: systemd-run looks a bare name up in its own ``PATH``, not in the hook's."""
    if "/" in command:
        return command
    for directory in [f"{release}/venv/bin", *SERVICE_PATH.split(":")]:
        path = os.path.join(directory, command)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def run_hooks(run: Run, app: App, release: str, dropin: str, run_once: bool) -> bool:
    """Run the app's hooks in ``release`` in order; False (and an error naming the hook) at the first that fails.

    Hooks marked ``once`` are skipped when ``run_once`` is false (another host of the deploy runs them)."""
    hooks = app["hooks"]
    static = static_dir(release)
    if not hooks:
        return True
    account = pwd.getpwnam(app["user"])
    os.chown(static, account.pw_uid, account.pw_gid)
    env_path = f"{release}.hook-env"
    fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # systemd reads it as root
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(envfile.render(hook_env(app, release)))
    ran: list[str] = []
    skipped: list[str] = []
    try:
        for number, hook in enumerate(hooks, 1):
            command = shlex.join(hook["argv"])
            if hook["once"] and not run_once:
                skipped.append(command)
                continue
            executable = resolve(hook["argv"][0], release)
            if executable is None:
                run.errors.append(f"{app['name']}: hook {number} ({command}): {hook['argv'][0]!r} is neither in the "
                                  "release's virtualenv nor on PATH; the new release is not used.")
                return False
            started = time.monotonic()
            proc = sandboxed(run, app, dropin, [executable, *hook["argv"][1:]], cwd=f"{release}/code",
                             env_file=env_path, timeout=hook["timeout"], writable=[static])
            if proc.returncode != 0:
                timed_out = time.monotonic() - started >= hook["timeout"]
                why = f"ran past its timeout of {hook['timeout']} s" if timed_out else \
                    f"failed with exit status {proc.returncode}"
                output = ((proc.stdout or "") + (proc.stderr or "")).strip()[-OUTPUT_CHARS:]
                run.errors.append(f"{app['name']}: hook {number} ({command}) {why}; the new release is not used (the "
                                  f"current release, if any, keeps serving).\n{output}")
                return False
            ran.append(command)
    finally:
        os.unlink(env_path)
        seal(static)
    if ran:
        run.note(app["name"], "hooks", ran)
    if skipped:
        run.note(app["name"], "hooks_skipped_once", skipped)
    return True


def seal(directory: str) -> None:
    """What the hooks wrote becomes root's and read-only: directories 0755, files 0644 (nginx serves them)."""
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            path = os.path.join(root, name)
            os.lchown(path, 0, 0)
            os.chmod(path, 0o755)
        for name in files:
            path = os.path.join(root, name)
            os.lchown(path, 0, 0)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
    os.chown(directory, 0, 0)
    os.chmod(directory, 0o755)
