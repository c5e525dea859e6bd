"""A host deployed by the previous version converges to the systemd units in one run, with no failed request.

One story in file order (the scenario turns random ordering off): the first test deploys the example apps with the
collection as it was at PREVIOUS (Debian's init script and the polling watchdog), the second runs this version's
playbooks/site.yml under load, the others check what it left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List

from appmount_testinfra import (
    example_apps,
    get_host,
    http,
    load_result,
    molecule_names,
    playbook,
    start_load,
    stop_load,
    uwsgi_masters,
)

NAMES = molecule_names()
APPS = [app["name"] for app in example_apps()]  # this version's examples; the previous one had fewer
UNITS = sorted(f"appmount-app@{name}.service" for name in APPS)
LOAD_S = 300  # the bound of the load tool; the test stops the load when the upgrade run is over
RESULT: Dict[str, Any] = {}


def legacy_masters(host: Any, apps: List[str]) -> Dict[str, str]:
    """The master of each app as Debian's init script records it (pid files of the previous version)."""
    return {name: host.check_output(f"cat /run/uwsgi/app/{name}/pid") for name in apps}


def test_the_previous_version_deploys_the_examples(previous: Path) -> None:
    """Its own examples (this version's use keys it did not know); this version adds the new ones."""
    old = [app["name"] for app in example_apps(previous)]
    run = playbook(example_apps(previous), project=previous, source_dir=previous / "examples")
    assert run.rc == 0, run.output[-3000:]
    for name in NAMES:
        host = get_host(name)
        assert host.service("appmount-uwsgi-watchdog").is_running
        legacy = legacy_masters(host, old)
        # one master per app, none of them in a unit of its own
        assert len(uwsgi_masters(host)) == len(old)
        assert not set(uwsgi_masters(host)) & set(UNITS)
        RESULT[name] = {"legacy": legacy}
        for path in ("/blog/", "/notes/", "/tools/ping/"):
            assert http(host, path).status == 200


def test_one_run_converges_to_the_units_without_a_failed_request() -> None:
    # where a failed request would be explained: nginx's errors, from this load on
    error_log = {n: int(get_host(n).check_output("stat -c %s /var/log/nginx/error.log")) for n in NAMES}
    for name in NAMES:
        start_load(name, ["/blog/about", "/tools/ping/", "/notes/"], clients=10, seconds=LOAD_S)
    time.sleep(3)
    started = time.monotonic()
    run = playbook(example_apps())
    duration = time.monotonic() - started
    for name in NAMES:
        stop_load(name)
    assert run.rc == 0, run.output[-3000:]
    assert duration < LOAD_S - 3, "the load must cover the whole upgrade"
    for name in NAMES:
        result = load_result(name, timeout=LOAD_S + 60)
        failed_at = result.pop("failed_at")
        if failed_at:
            result["nginx_errors"] = get_host(name).check_output(
                f"tail -c +{error_log[name] + 1} /var/log/nginx/error.log | grep -v '\\[notice\\]' | head -n 5")
            result["failed_at"] = [failed_at[0], failed_at[-1]]
        print(f"\nUPGRADE {name}: site.yml ran {duration:.1f} s under load: requests={result['requests']} "
              f"non_2xx={result['non_2xx']} slowest_ms={result['slowest_ms_by_path']} failures={result['failures']} "
              f"{result.get('nginx_errors', '')} {result.get('failed_at', '')}")
        assert result["non_2xx"] == 0, result
        assert result["requests"] > 100


def test_the_watchdog_its_script_and_its_lock_are_gone() -> None:
    for name in NAMES:
        host = get_host(name)
        assert host.run("systemctl cat appmount-uwsgi-watchdog.service").rc != 0
        for path in ("/etc/systemd/system/appmount-uwsgi-watchdog.service", "/usr/local/sbin/appmount-uwsgi-watchdog",
                     "/run/lock/appmount-uwsgi.lock"):
            assert not host.file(path).exists, path
        assert host.run("pgrep -f '[a]ppmount-uwsgi-watchdog'").rc == 1


def test_every_app_runs_once_in_its_unit_and_no_old_instance_is_left() -> None:
    for name in NAMES:
        host = get_host(name)
        assert uwsgi_masters(host) == UNITS
        for app, pid in RESULT[name]["legacy"].items():
            assert not host.file(f"/proc/{pid}").exists, f"{app}: the old master {pid} still runs"
        assert host.check_output("systemctl is-enabled uwsgi.service || true") == "masked"
        for path in ("/blog/", "/notes/", "/tools/ping/"):
            assert http(host, path).status == 200


def test_the_next_run_changes_nothing() -> None:
    run = playbook(example_apps())
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == {name: 0 for name in NAMES}
