"""appmount.wsgi.packages: dpkg-query through the connection, apt only for what dpkg does not show installed."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from ansible_collections.appmount.wsgi.plugins.action.packages import ActionModule, installed, missing

DPKG = "nginx ii 1.22.1-9+deb12u2\nssl-cert hi 1.1.2\nuwsgi rc 2.0.21-5.1\nsystemd ii 252.39-1~deb12u1\n"
# held counts as installed; removed with its config does not


def test_missing_reads_the_status_dpkg_query_prints() -> None:
    assert missing(["nginx", "ssl-cert"], DPKG) == []
    assert missing(["nginx", "uwsgi", "git"], DPKG) == ["uwsgi", "git"]  # git: unknown to dpkg, no line at all
    assert missing(["nginx"], "nginx iU 1.22.1-9\n") == ["nginx"]  # unpacked, not configured


def action(args: dict[str, Any], stdout: str) -> tuple[ActionModule, mock.Mock, mock.Mock]:
    task = mock.Mock(args=args, async_val=0, check_mode=False, diff=False, environment=None)
    plugin = ActionModule(task, mock.Mock(), mock.Mock(), loader=None, templar=None, shared_loader_obj=None)
    query = mock.Mock(return_value={"rc": 0, "stdout": stdout, "stderr": ""})
    apt = mock.Mock(return_value={"changed": True})
    plugin._low_level_execute_command = query  # type: ignore[method-assign]
    plugin._execute_module = apt  # type: ignore[method-assign]
    return plugin, query, apt


def test_installed_packages_cost_one_query_and_no_apt() -> None:
    plugin, query, apt = action({"name": ["nginx", "ssl-cert"], "update_cache": True, "cache_valid_time": 3600}, DPKG)
    assert plugin.run(task_vars={}) == {"changed": False, "missing": [], "versions": {}}
    command = query.call_args.args[0]
    assert command.startswith("dpkg-query --show ") and command.endswith(" -- nginx ssl-cert")
    apt.assert_not_called()


def test_a_missing_package_runs_apt_with_every_name() -> None:
    plugin, _query, apt = action({"name": ["nginx", "git"], "update_cache": True, "cache_valid_time": 3600}, DPKG)
    result = plugin.run(task_vars={})
    assert result["changed"] is True and result["missing"] == ["git"]
    assert apt.call_args.args[0] == "ansible.builtin.apt"
    assert apt.call_args.kwargs["module_args"] == {"name": ["nginx", "git"], "state": "present", "update_cache": True,
                                                   "cache_valid_time": 3600}


def test_a_name_that_is_not_a_plain_package_goes_to_apt_unasked() -> None:
    plugin, query, apt = action({"name": ["nginx=1.22*"]}, DPKG)
    assert plugin.run(task_vars={})["missing"] == ["nginx=1.22*"]
    query.assert_not_called()
    assert apt.call_args.kwargs["module_args"]["name"] == ["nginx=1.22*"]


@pytest.mark.parametrize("name", [{"nginx": 1}, [1]])
def test_names_that_are_not_a_list_of_strings_are_refused(name: Any) -> None:
    plugin, _query, _apt = action({"name": name}, DPKG)
    with pytest.raises(Exception, match="name must be a list of package names"):
        plugin.run(task_vars={})


@pytest.mark.parametrize("name", [[], ""])
def test_no_names_is_nothing_to_do(name: Any) -> None:
    plugin, query, apt = action({"name": name}, DPKG)
    assert plugin.run(task_vars={}) == {"changed": False, "missing": [], "versions": {}}
    query.assert_not_called()
    apt.assert_not_called()


def test_installed_reports_the_upstream_part_of_each_version() -> None:
    assert installed(DPKG) == {"nginx": "1.22.1", "ssl-cert": "1.1.2", "systemd": "252.39"}
    epoch_and_no_dot = "nginx-common ii 2:1.26.3-3\ntzdata ii 2024a-0+deb12u1\n"
    assert installed(epoch_and_no_dot) == {"nginx-common": "1.26.3", "tzdata": "2024a"}


def test_versions_are_asked_in_the_same_query_and_never_installed() -> None:
    plugin, query, apt = action({"name": ["nginx"], "versions": ["systemd", "git"]}, DPKG)
    assert plugin.run(task_vars={}) == {"changed": False, "missing": [], "versions": {"systemd": "252.39"}}
    assert query.call_count == 1 and query.call_args.args[0].endswith(" -- nginx systemd git")
    apt.assert_not_called()


def test_versions_are_asked_again_after_apt_installed_the_missing_packages() -> None:
    plugin, query, apt = action({"name": ["git"], "versions": ["nginx"]}, "")
    query.side_effect = [{"rc": 1, "stdout": "", "stderr": ""}, {"rc": 0, "stdout": DPKG, "stderr": ""}]
    result = plugin.run(task_vars={})
    assert result["missing"] == ["git"] and result["versions"] == {"nginx": "1.22.1"}
    assert query.call_count == 2 and query.call_args.args[0].endswith(" -- nginx")
    apt.assert_called_once()


def test_versions_must_be_plain_package_names() -> None:
    plugin, _query, _apt = action({"name": [], "versions": ["nginx=1.22*"]}, DPKG)
    with pytest.raises(Exception, match="versions must be plain package names"):
        plugin.run(task_vars={})


def test_name_is_required() -> None:
    plugin, _query, _apt = action({"versions": ["systemd"]}, DPKG)
    with pytest.raises(Exception, match="name is required"):
        plugin.run(task_vars={})
