"""The apps' system accounts, without creating any (check mode and accounts that exist or do not)."""

from __future__ import annotations

import grp
import pwd
from collections.abc import Callable
from typing import Any

from ansible_collections.appmount.wsgi.plugins.module_utils.accounts import (
    account_exists,
    drop_account,
    ensure_account,
    group_id,
)
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

MISSING = "_appmount-no-such-account"


def test_account_exists() -> None:
    assert account_exists(pwd.getpwnam, "root") and account_exists(grp.getgrnam, "root")
    assert not account_exists(pwd.getpwnam, MISSING) and not account_exists(grp.getgrnam, MISSING)


def test_group_id_is_minus_one_for_a_group_to_be_created() -> None:
    assert group_id("root") == 0
    assert group_id("nogroup") == grp.getgrnam("nogroup").gr_gid
    assert group_id(MISSING) == -1


def app(user: str) -> Any:
    return {"name": "blog", "user": user, "home": "/srv/appmount/blog"}


def test_ensure_account_in_check_mode_only_reports(new_run: Callable[..., Run]) -> None:
    run = new_run(check=True)
    ensure_account(run, app(MISSING))
    assert run.report == {"blog": {"group_created": True, "user_created": True}}
    assert run.module.commands == []


def test_ensure_account_leaves_existing_accounts_alone(new_run: Callable[..., Run]) -> None:
    run = new_run()
    ensure_account(run, app("root"))
    assert (run.changed, run.report, run.module.commands) == (False, {}, [])


def test_drop_account_without_an_account_does_nothing(new_run: Callable[..., Run]) -> None:
    run = new_run()
    drop_account(run, app(MISSING))
    assert (run.changed, run.report, run.module.commands) == (False, {}, [])


def test_drop_account_in_check_mode_only_reports(new_run: Callable[..., Run]) -> None:
    run = new_run(check=True)
    drop_account(run, app("nobody"))  # user nobody, and group nobody where it exists: nothing runs in check mode
    assert run.report == {"blog": {"user_removed": True}}
    assert run.changed and run.module.commands == []
