# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each app's system user and group (named after the app's ``user``)."""

from __future__ import annotations

import grp
import pwd
from typing import Any, Callable

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def account_exists(lookup: Callable[[str], Any], name: str) -> bool:
    """Whether ``lookup`` (``pwd.getpwnam`` or ``grp.getgrnam``) knows ``name``."""
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def group_id(name: str) -> int:
    """The gid of group ``name``; -1 for a group that does not exist yet (check mode)."""
    return grp.getgrnam(name).gr_gid if account_exists(grp.getgrnam, name) else -1


def ensure_account(run: Run, app: App) -> None:
    """The app's system group and user (no home directory is created, no login shell)."""
    user = app["user"]
    if not account_exists(grp.getgrnam, user):
        run.note(app["name"], "group_created")
        if not run.check:
            run.checked(["groupadd", "--system", user])
    if not account_exists(pwd.getpwnam, user):
        run.note(app["name"], "user_created")
        if not run.check:
            run.checked(["useradd", "--system", "--gid", user, "--home-dir", app["home"], "--no-create-home",
                         "--shell", "/usr/sbin/nologin", "--comment", f"appmount app {app['name']}", user])


def drop_account(run: Run, app: App) -> None:
    """Remove the user, then the group, of an absent app."""
    if account_exists(pwd.getpwnam, app["user"]):
        run.note(app["name"], "user_removed")
        if not run.check:
            run.checked(["userdel", app["user"]])
    if account_exists(grp.getgrnam, app["user"]):
        run.changed = True
        if not run.check:
            run.checked(["groupdel", app["user"]])
