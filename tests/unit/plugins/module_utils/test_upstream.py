"""Unit tests of plugins/module_utils/upstream.py: the balancer's drained set across runs, and its upstream block."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils.upstream import (
    Server,
    State,
    dump_state,
    load_state,
    next_state,
    render,
)

SETTINGS: dict[str, Any] = {"max_fails": 3, "fail_timeout": 10, "keepalive": 16}
HEADER = "# Ansible managed\n"


def server(name: str, address: str = "", port: int = 80) -> Server:
    return {"name": name, "address": address or f"10.0.0.{name[-1]}", "port": port}


def state(members: Sequence[str], drained: Sequence[str] = ()) -> State:
    return {"members": list(members), "drained": list(drained)}


FLEET = [server("app1"), server("app2"), server("app3")]


def test_a_host_never_seen_joins_drained() -> None:
    new, kept = next_state(state(["app1", "app2"]), FLEET)
    assert new == {"members": ["app1", "app2", "app3"], "drained": ["app3"]}
    assert kept == []


def test_a_fresh_balancer_starts_with_every_host_drained() -> None:
    new, _kept = next_state(load_state(None), FLEET)
    assert new["drained"] == ["app1", "app2", "app3"]


def test_a_known_host_stays_as_it_was() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"], ["app2"]), FLEET)
    assert new == {"members": ["app1", "app2", "app3"], "drained": ["app2"]}
    assert kept == []


def test_drain_marks_a_host_down() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"]), FLEET, drain=["app1"])
    assert new["drained"] == ["app1"]
    assert kept == []


def test_undrain_puts_a_host_back() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"], ["app1", "app3"]), FLEET, undrain=["app1"])
    assert new["drained"] == ["app3"]
    assert kept == []


def test_undrain_puts_back_a_host_that_joined_in_the_same_call() -> None:
    new, _kept = next_state(state(["app1", "app2"]), FLEET, undrain=["app3"])
    assert new["drained"] == []


def test_a_host_that_left_the_group_leaves_the_state() -> None:
    new, _kept = next_state(state(["app1", "app2", "app3", "old"], ["app2", "old"]), FLEET)
    assert new == {"members": ["app1", "app2", "app3"], "drained": ["app2"]}


def test_a_host_that_left_and_came_back_joins_drained_again() -> None:
    left, _kept = next_state(state(["app1", "app2", "app3"]), FLEET[:2])
    back, _kept = next_state(left, FLEET)
    assert back["drained"] == ["app3"]


def test_draining_every_serving_host_keeps_them_serving_and_says_so() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"]), FLEET, drain=["app1", "app2", "app3"])
    assert new["drained"] == []
    assert kept == ["app1", "app2", "app3"]


def test_draining_the_last_serving_host_keeps_it_while_the_others_stay_drained() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"], ["app1", "app3"]), FLEET, drain=["app2"])
    assert new["drained"] == ["app1", "app3"]
    assert kept == ["app2"]


def test_kept_names_only_the_serving_hosts_of_those_asked_to_drain() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"], ["app1", "app3"]), FLEET, drain=["app1", "app2"])
    assert new["drained"] == ["app1", "app3"]
    assert kept == ["app2"]


def test_draining_some_while_others_serve_drains_them() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"]), FLEET, drain=["app1", "app2"])
    assert new["drained"] == ["app1", "app2"]
    assert kept == []


def test_draining_a_host_outside_the_group_changes_nothing() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"]), FLEET, drain=["elsewhere"])
    assert new["drained"] == []
    assert kept == []


def test_a_drained_host_that_failed_stays_drained_across_a_call_without_drain_or_undrain() -> None:
    drained, _kept = next_state(state(["app1", "app2", "app3"]), FLEET, drain=["app1"])
    # app1's deploy failed: no undrain; the next run (another batch, another play) neither drains nor undrains it
    later, kept = next_state(load_state(dump_state(drained)), FLEET)
    assert later["drained"] == ["app1"]
    assert kept == []
    again, _kept = next_state(later, FLEET, drain=["app2"], undrain=["app3"])
    assert again["drained"] == ["app1", "app2"]


def test_undrain_of_a_host_absent_from_servers_is_harmless() -> None:
    new, kept = next_state(state(["app1", "app2", "app3"], ["app2"]), FLEET, undrain=["gone"])
    assert new == {"members": ["app1", "app2", "app3"], "drained": ["app2"]}
    assert kept == []


def test_next_state_leaves_its_input_alone() -> None:
    before = state(["app1", "app2", "app3"], ["app2"])
    next_state(before, FLEET, drain=["app1"], undrain=["app2"])
    assert before == {"members": ["app1", "app2", "app3"], "drained": ["app2"]}


@pytest.mark.parametrize("text", [None, "", "{not json", "[1, 2]", '"drained"', "null", "42"],
                         ids=["none", "empty", "invalid", "list", "string", "null", "number"])
def test_load_state_gives_an_empty_state_for_what_is_not_a_state(text: str | None) -> None:
    assert load_state(text) == {"members": [], "drained": []}


def test_load_state_ignores_fields_that_are_not_lists() -> None:
    assert load_state('{"members": "app1", "drained": ["app1"]}') == {"members": [], "drained": ["app1"]}


def test_dump_and_load_round_trip() -> None:
    original = state(["app1", "app2", "app3"], ["app2"])
    text = dump_state(original)
    assert text.endswith("\n")
    assert load_state(text) == original


def test_drained_servers_are_down_and_named_in_their_comment() -> None:
    text = render("appmount_fleet", FLEET, ["app2"], SETTINGS, HEADER)
    assert "    server 10.0.0.1:80 max_fails=3 fail_timeout=10s;  # app1 (serving)\n" in text
    assert "    server 10.0.0.2:80 max_fails=3 fail_timeout=10s down;  # app2 (drained)\n" in text
    assert "    server 10.0.0.3:80 max_fails=3 fail_timeout=10s;  # app3 (serving)\n" in text


def test_render_is_an_upstream_block_after_the_header() -> None:
    lines = render("appmount_fleet", FLEET, [], SETTINGS, HEADER).splitlines()
    assert lines[0] == "# Ansible managed"
    assert "upstream appmount_fleet {" in lines
    assert lines[-2:] == ["    keepalive 16;", "}"]


def test_a_multi_line_header_comes_first_as_it_is() -> None:
    text = render("up", FLEET, [], SETTINGS, "#\n# Ansible managed\n#\n")
    assert text.startswith("#\n# Ansible managed\n#\n# appmount.wsgi balancer")


def test_ipv6_addresses_are_bracketed() -> None:
    servers = [server("app1", "2001:db8::1", 8080), server("app2", "[2001:db8::2]"), server("app3", "web3.lan")]
    text = render("up", servers, [], SETTINGS, HEADER)
    assert "server [2001:db8::1]:8080 " in text
    assert "server [2001:db8::2]:80 " in text
    assert "server web3.lan:80 " in text


@pytest.mark.parametrize("keepalive", [0, None])
def test_no_keepalive_leaves_no_keepalive_line(keepalive: int | None) -> None:
    text = render("up", FLEET, [], dict(SETTINGS, keepalive=keepalive), HEADER)
    assert "keepalive" not in text
    assert text.endswith("app3 (serving)\n}\n")


def test_render_of_a_round_tripped_state_is_the_same() -> None:
    new, _kept = next_state(state(["app1", "app2"]), FLEET, drain=["app1"])
    again = load_state(dump_state(new))
    assert render("up", FLEET, again["drained"], SETTINGS, HEADER) == render(
        "up", FLEET, new["drained"], SETTINGS, HEADER)
