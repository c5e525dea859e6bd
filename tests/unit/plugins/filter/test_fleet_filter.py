"""Unit tests of plugins/filter/fleet.py: how a balancer reaches each app host, what a rollout did on each host,
and the fleet's summary."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.filter.fleet import (
    FilterModule,
    balancer_errors,
    balancer_server,
    fleet_summary,
    probe_sites,
    rollout_apps,
)

Host = dict[str, Any]
URL = "http://10.0.0.1:80"
# nginx_site_endpoints of an app host: the first site answers to any name, the second to its own
SITES: list[dict[str, Any]] = [{"name": "main", "server_name": "", "url": "http://127.0.0.1:80"},
                               {"name": "tools", "server_name": "tools.example.org", "url": "http://127.0.0.1:80"}]


def app(name: str, **overrides: Any) -> dict[str, Any]:
    """An app as ``apps_normalize`` gives it."""
    return {"name": name, "state": "present", "location": f"/{name}/", "mount": f"/{name}",
            "socket": f"/run/appmount/{name}.sock", "prefix_check": True, "module": "app:app",
            "env": {"SECRET": "s3cret"}, **overrides}


def host(name: str, **hostvars: Any) -> Host:
    return {"inventory_hostname": name, **hostvars}


@pytest.mark.parametrize(("hostvars", "address"), [
    ({"balancer_backend_address": "192.0.2.10", "ansible_host": "203.0.113.10"}, "192.0.2.10"),
    ({"ansible_host": "203.0.113.10"}, "203.0.113.10"),
    ({}, "web1"),
    ({"balancer_backend_address": "", "ansible_host": "203.0.113.10"}, "203.0.113.10"),
], ids=["backend-address", "ansible-host", "inventory-name", "empty-backend-address"])
def test_balancer_server_reaches_a_host_at_the_most_specific_address(hostvars: Host, address: str) -> None:
    assert balancer_server(host("web1", **hostvars)) == {"name": "web1", "address": address, "port": 80}


def test_balancer_server_takes_the_hosts_own_port_over_the_argument() -> None:
    assert balancer_server(host("web1", balancer_backend_port="8081"), 8080)["port"] == 8081
    assert balancer_server(host("web1"), 8080)["port"] == 8080
    assert balancer_server(host("web1"))["port"] == 80


def test_balancer_errors_passes_hosts_it_reaches() -> None:
    hosts = [host("web1", ansible_host="10.0.0.1"), host("web2", ansible_host="10.0.0.2"),
             host("web3", ansible_host="127.0.0.1", balancer_backend_address="10.0.0.3")]
    assert balancer_errors(hosts, "appmount") == []


def test_balancer_errors_names_an_empty_group() -> None:
    assert balancer_errors([], "app_hosts") == [
        "balancer_group: the inventory group 'app_hosts' has no app hosts for the balancer"]


@pytest.mark.parametrize("hostvars", [{"ansible_host": "127.0.0.1"}, {"ansible_host": "::1"},
                                      {"balancer_backend_address": "127.0.1.1"}, {"ansible_host": "localhost"}],
                         ids=["ipv4", "ipv6", "backend-address", "localhost"])
def test_balancer_errors_refuses_a_loopback_address(hostvars: Host) -> None:
    [error] = balancer_errors([host("web1", **hostvars), host("web2", ansible_host="10.0.0.2")], "appmount")
    assert error.startswith("web1: the balancer would reach it at ")
    assert "its own loopback" in error and "balancer_backend_address" in error


def test_balancer_errors_refuses_a_host_named_localhost_without_an_address() -> None:
    [error] = balancer_errors([host("localhost")], "appmount")
    assert error.startswith("localhost: the balancer would reach it at localhost, its own loopback")


def test_balancer_errors_refuses_two_hosts_on_the_same_address_and_port() -> None:
    hosts = [host("web1", ansible_host="10.0.0.1"), host("web2", balancer_backend_address="10.0.0.1"),
             host("web3", ansible_host="10.0.0.3")]
    assert balancer_errors(hosts, "appmount") == [
        "web2: balancer_backend_address 10.0.0.1 is also web1's; each app host needs its own"]


def test_balancer_errors_passes_hosts_on_one_address_with_their_own_ports() -> None:
    hosts = [host("web1", ansible_host="10.0.0.1", balancer_backend_port=8081),
             host("web2", ansible_host="10.0.0.1", balancer_backend_port=8082)]
    assert balancer_errors(hosts, "appmount") == []


def test_rollout_apps_records_each_apps_release_gate_status_and_site() -> None:
    apps = [app("blog"), app("shop", site="tools"), app("old", state="absent")]
    deployed = {"changed": True, "apps": {"blog": {"release": "20260101T000000"}, "shop": {"release": "r7"}}}
    health = {"status": {"blog": 200, "shop": 0}}
    blog, shop, old = rollout_apps(apps, deployed, health, SITES)
    assert blog == {"name": "blog", "state": "present", "location": "/blog/", "mount": "/blog", "site": "main",
                    "socket": "/run/appmount/blog.sock", "prefix_check": True, "server_name": "",
                    "release": "20260101T000000", "status": 200}
    assert (shop["site"], shop["server_name"], shop["release"], shop["status"]) == (
        "tools", "tools.example.org", "r7", 0)
    assert (old["state"], old["release"], old["status"]) == ("absent", "-", None)


def test_rollout_apps_keeps_nothing_the_summary_and_probe_do_not_need() -> None:
    [blog] = rollout_apps([app("blog")], None, None, SITES)
    assert "module" not in blog and "env" not in blog


NO_RELEASE = [(None, None), ({}, {}), ({"apps": {}}, {"status": {}}), ({"apps": {"blog": {}}}, {"failed": True})]


@pytest.mark.parametrize(("deployed", "health"), NO_RELEASE, ids=["none", "empty", "no-entry", "no-release-no-status"])
def test_rollout_apps_without_a_deploy_or_a_gate_shows_no_release_and_no_status(
        deployed: dict[str, Any] | None, health: dict[str, Any] | None) -> None:
    [blog] = rollout_apps([app("blog")], deployed, health, SITES)
    assert (blog["release"], blog["status"]) == ("-", None)


def test_rollout_apps_puts_an_app_without_site_on_the_first_site() -> None:
    [blog, shop] = rollout_apps([app("blog", site=None), app("shop")], None, None, list(reversed(SITES)))
    assert (blog["site"], blog["server_name"]) == ("tools", "tools.example.org")
    assert (shop["site"], shop["server_name"]) == ("tools", "tools.example.org")


def test_rollout_apps_of_a_host_without_sites_gives_no_server_name() -> None:
    [blog] = rollout_apps([app("blog")], None, None, [])
    assert (blog["site"], blog["server_name"]) == ("", "")


def test_probe_sites_start_with_a_placeholder_then_each_site_used() -> None:
    apps = rollout_apps([app("blog"), app("shop", site="tools"), app("wiki", site="tools"), app("docs")],
                        None, None, SITES)
    assert probe_sites(apps, URL) == [
        {"name": "", "url": URL, "server_name": None, "ca_file": None},
        {"name": "main", "url": URL, "server_name": None, "ca_file": None},
        {"name": "tools", "url": URL, "server_name": "tools.example.org", "ca_file": None},
    ]


def test_probe_sites_leaves_out_sites_no_app_is_on() -> None:
    apps = rollout_apps([app("shop", site="tools")], None, None, SITES)
    assert [s["name"] for s in probe_sites(apps, URL)] == ["", "tools"]


def test_probe_sites_of_a_host_without_apps_is_the_placeholder() -> None:
    assert probe_sites([], URL) == [{"name": "", "url": URL, "server_name": None, "ca_file": None}]


PASSED = host("web1", appmount_rollout="passed", appmount_rollout_error="", appmount_rollout_apps=[
    {"name": "blog", "release": "r2", "status": 200}, {"name": "shop", "release": "r1", "status": 302}])
FAILED = host("web2", appmount_rollout="failed",
              appmount_rollout_error="Deploy the apps and run the health gate: apps not serving through nginx: "
                                     "blog (502)",
              appmount_rollout_apps=[{"name": "blog", "release": "r3", "status": 502}])
NOT_ATTEMPTED = host("web3")
UPSTREAMS: list[dict[str, Any]] = [{"item": "lb1", "drained": ["web2"], "kept_serving": []},
                                   {"item": "lb2", "skipped": True}]
PROBES: list[dict[str, Any]] = [{"item": {"name": "web1"}, "status": {"blog": 200, "shop": 0}},
                                {"item": {"name": "web2"}, "failed": True, "status": {"blog": 502}},
                                {"item": {"name": "web3"}, "skipped": True}]


def test_fleet_summary_shows_each_host_behind_the_balancer() -> None:
    assert fleet_summary([PASSED, FAILED, NOT_ATTEMPTED], UPSTREAMS, PROBES) == [
        "host  rollout        app   release  gate  balancer  probe",
        "web1  passed         blog  r2       200   serving   200",
        "web1  passed         shop  r1       302   serving   no answer",
        "web2  failed         blog  r3       502   drained   502",
        "web3  not attempted  -     -        -     serving   -",
        "web2 failed: Deploy the apps and run the health gate: apps not serving through nginx: blog (502)",
        "balancer lb1: drained: web2",
    ]


def test_fleet_summary_without_balancers_has_no_balancer_or_probe() -> None:
    assert fleet_summary([PASSED, FAILED, NOT_ATTEMPTED]) == [
        "host  rollout        app   release  gate  balancer  probe",
        "web1  passed         blog  r2       200   -         -",
        "web1  passed         shop  r1       302   -         -",
        "web2  failed         blog  r3       502   -         -",
        "web3  not attempted  -     -        -     -         -",
        "web2 failed: Deploy the apps and run the health gate: apps not serving through nginx: blog (502)",
    ]


def test_fleet_summary_says_when_every_app_host_serves() -> None:
    lines = fleet_summary([PASSED], [{"item": "lb1", "drained": []}, {"item": "lb2", "drained": []}], PROBES[:1])
    assert lines[-2:] == ["balancer lb1: every app host serving", "balancer lb2: every app host serving"]
    assert not any(" failed: " in line for line in lines)


def test_fleet_summary_names_a_host_drained_on_any_balancer() -> None:
    upstreams = [{"item": "lb1", "drained": []}, {"item": "lb2", "drained": ["web1", "web2"]}]
    lines = fleet_summary([PASSED, FAILED], upstreams, PROBES)
    assert [line.split()[5] for line in lines[1:4]] == ["drained", "drained", "drained"]
    assert lines[-2:] == ["balancer lb1: every app host serving", "balancer lb2: drained: web1, web2"]


def test_fleet_summary_says_no_answer_when_a_probe_got_none() -> None:
    lines = fleet_summary([FAILED], UPSTREAMS, [{"item": {"name": "web2"}, "status": {"blog": 0}}])
    assert lines[1].endswith("drained   no answer")


def test_fleet_summary_says_no_answer_when_a_probed_host_has_no_result() -> None:
    lines = fleet_summary([PASSED], UPSTREAMS, [{"item": {"name": "web1"}, "failed": True, "msg": "timed out"}])
    assert [line.rsplit("  ", 1)[-1] for line in lines[1:3]] == ["no answer", "no answer"]


def test_fleet_summary_of_a_host_without_apps_has_no_probe() -> None:
    empty = host("web4", appmount_rollout="passed", appmount_rollout_apps=[])
    lines = fleet_summary([empty], UPSTREAMS, [{"item": {"name": "web4"}, "status": {}}])
    assert lines[1].split() == ["web4", "passed", "-", "-", "-", "serving", "-"]


def test_fleet_summary_of_no_hosts_is_the_header() -> None:
    assert fleet_summary([]) == ["host  rollout  app  release  gate  balancer  probe"]


def test_the_filters_are_exposed_under_their_names() -> None:
    assert set(FilterModule().filters()) == {"balancer_server", "balancer_errors", "rollout_apps", "probe_sites",
                                             "fleet_summary"}
