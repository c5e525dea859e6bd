"""App lifecycle on a serving host. The tests run in any order (pytest-randomly shuffles them; its seed is printed
at the top; `--randomly-seed=N` repeats an order, `-p no:randomly` keeps the file order).

No test relies on what another one left: a test that needs some apps in some state deploys that app list at its start
(`prepare`, or the first deploy it measures), with the code of its own copy of examples/ (the `code` fixture); the
probe apps, which no test changes, are deployed once by the `probes` fixture. A test that changes a host by other
means (a unit drop-in, a foreign uWSGI ini, an app that dies, a reboot) puts it back in a `finally:`. The figures of
the zero-downtime cases are printed together at the end of the run (conftest.py).

Playbooks run from the controller against both containers at once; every HTTP
check and every load runs inside the containers.
"""

from __future__ import annotations

import copy
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from appmount_testinfra import (
    PROJECT,
    example_apps,
    get_host,
    http,
    journal,
    load_result,
    masters,
    molecule_names,
    playbook,
    start_load,
    uwsgi_masters,
)

NAMES = molecule_names()
SNAPSHOT = (
    "cd / && find etc/nginx etc/uwsgi srv/appmount -printf '%p %y %m %u %g %s %l\\n' | sort | sha256sum"
    " && find etc/nginx etc/uwsgi srv/appmount -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum"
)
PING2 = {"processes": 2}  # ping as test (c) leaves it; the examples give it one process
Record = Dict[str, Dict[str, Dict[str, Any]]]  # the `zero_downtime` fixture: per host, per case, a load's figures


def apps(code: Path, **changes: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The example apps with sources in `code`, updated per app name; `extra` apps appended."""
    result = []
    for app in example_apps():
        app = copy.deepcopy(app)
        app["source"]["path"] = str(code / app["source"]["path"])
        app.update(changes.get(app["name"], {}))
        result.append(app)
    return result


def deploy(app_list: List[Dict[str, Any]], *args: str) -> str:
    run = playbook(app_list, *args)
    assert run.rc == 0, run.output[-3000:]
    return run.output


# for the runs whose changes are the apps role's alone: the nginx and uwsgi roles have nothing to do there
APPS_ONLY = ("--tags", "apps")


def prepare(app_list: List[Dict[str, Any]]) -> None:
    """The state a test starts from: the listed apps as listed (whatever an earlier test left), others untouched.

    The apps role alone (--tags apps): the nginx and uwsgi roles do not read the app list, and no test leaves
    their files changed, so the rest of the playbook has nothing to do here.
    """
    deploy(app_list, *APPS_ONLY)


def ping_release(code: Path, text: str) -> None:
    """A new release of the ping app: its reply changes."""
    path = code / "apps" / "ping" / "ping.py"
    source = path.read_text()
    marker = "# release:"
    source = source.split(marker)[0] + f'{marker}\nRELEASE = "{text}"\n'
    if "RELEASE.encode()" not in source:
        source = source.replace('os.environ.get("PING_REPLY", "pong").encode()',
                                'os.environ.get("PING_REPLY", "pong").encode() + RELEASE.encode()')
    path.write_text(source)


def body(name: str, path: str) -> str:
    return http(get_host(name), path).body


def test_check_mode_on_a_converged_host_changes_nothing(code: Path) -> None:
    deploy(apps(code))  # converged with this app list, whatever an earlier test deployed
    run = playbook(apps(code), "--check", "--diff")
    assert run.rc == 0, run.output[-3000:]
    assert run.changed() == {name: 0 for name in NAMES}


BAD_INPUT = {
    "duplicate mount": ({"notes": {"mount": "/blog"}}, "mount '/blog' is already used by app 'blog'"),
    "typo in a key": ({"notes": {"packges": ["flask"]}}, "(notes): unknown key 'packges'"),
    "trailing slash": ({"ping": {"mount": "/tools/ping/"}}, "(ping): mount '/tools/ping/' must not end with '/'"),
    "missing source": ({"blog": {"source": {"path": "/nonexistent/blog"}}}, "(blog): source.path '/nonexistent/blog'"),
    "bad env name": ({"ping": {"env": {"1BAD": "x"}}}, "(ping): env variable name '1BAD' is invalid"),
    "zero processes": ({"ping": {"processes": 0}}, "(ping): processes 0 is invalid"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_refused_input_changes_nothing(code: Path, case: str) -> None:
    changes, message = BAD_INPUT[case]
    before = {name: get_host(name).check_output(SNAPSHOT) for name in NAMES}
    run = playbook(apps(code, **changes))
    assert run.rc != 0
    assert message in run.output
    assert {name: get_host(name).check_output(SNAPSHOT) for name in NAMES} == before
    print(f"\nREFUSED-INPUT {case}: refused before any change; /etc/nginx, /etc/uwsgi, /srv/appmount unchanged")


BAD_SETTINGS = {
    "apps_build_jobs": ("-1", "apps_build_jobs -1 is invalid; allowed: 0 (one build per core of the host) or more"),
    "apps_uv_version": ("latest", "apps_uv_version latest is invalid; allowed: a release of uv, e.g. 0.13.9"),
    "apps_python_installer": ("conda", "apps_python_installer conda is invalid; allowed: uv or pip"),
}


@pytest.mark.parametrize("setting", BAD_SETTINGS)
def test_refused_role_settings_change_nothing(code: Path, setting: str) -> None:
    value, message = BAD_SETTINGS[setting]
    before = {name: get_host(name).check_output(SNAPSHOT) for name in NAMES}
    run = playbook(apps(code), "-e", f"{setting}={value}")
    assert run.rc != 0
    assert message in run.output
    assert {name: get_host(name).check_output(SNAPSHOT) for name in NAMES} == before


def test_a_bad_nginx_directive_never_reaches_nginx(code: Path) -> None:
    before = {name: get_host(name).check_output(SNAPSHOT) for name in NAMES}
    run = playbook(apps(code), "-e", '{"nginx_site_extra_directives": ["bogus_directive on;"]}')
    assert run.rc != 0
    assert 'unknown directive "bogus_directive"' in run.output
    for name in NAMES:
        assert get_host(name).check_output(SNAPSHOT) == before[name]
        assert http(get_host(name), "/blog/").status == 200


def now(name: str) -> float:
    """The container's wall clock (the load tool stamps each failed request with it)."""
    return float(get_host(name).check_output("date +%s.%N"))


def measure(record: Record, label: str, change: Any, watched: List[str]) -> Dict[str, Any]:
    """Run `change` under 20 clients x 20 s on blog and ping; report non-2xx and the slowest response.

    Each failed request is stamped with the time it was sent: `failed_after_change` counts those sent once
    `change` had started (none may fail), `lost_in_flight` those sent before it. Each host's result goes to
    `record` (the `zero_downtime` fixture: printed at the end of the run) under `label`.
    """
    before = {n: masters(get_host(n), watched) for n in NAMES}
    # where a failed request would be explained: nginx's errors, from this load on
    error_log = {n: int(get_host(n).check_output("stat -c %s /var/log/nginx/error.log")) for n in NAMES}
    for n in NAMES:
        start_load(n, ["/blog/about", "/tools/ping/"], clients=20, seconds=20)
    time.sleep(3)
    changed_at = {n: now(n) for n in NAMES}
    event = change()
    if isinstance(event, dict):  # a change made host by host says when it took effect on each
        changed_at.update(event)
    results = {n: load_result(n) for n in NAMES}
    for n, result in results.items():
        result["other_masters_unchanged"] = masters(get_host(n), watched) == before[n]
        failed_at = result.pop("failed_at")
        result["failed_after_change"] = len([t for t in failed_at if t >= changed_at[n]])
        result["lost_in_flight"] = len(failed_at) - result["failed_after_change"]
        if result["non_2xx"]:
            result["nginx_errors"] = get_host(n).check_output(
                f"tail -c +{error_log[n] + 1} /var/log/nginx/error.log | grep -v '\\[notice\\]' | tail -n 5")
        record.setdefault(n, {})[label] = result
        print(f"\nZERO-DOWNTIME {n} {label}: {result}")
    return results


def test_zero_downtime_code_change(code: Path, zero_downtime: Record) -> None:
    prepare(apps(code))  # the examples as they are: the code of ping is the only change below
    ping_release(code, " v2")
    results = measure(zero_downtime, "(a) code change of ping", lambda: deploy(apps(code)), ["blog", "notes"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["requests"] > 100
        assert result["other_masters_unchanged"]
        assert body(name, "/tools/ping/") == "pong v2"


def current_release(name: str, app: str) -> str:
    return str(get_host(name).check_output(f"readlink /srv/appmount/{app}/current"))


def test_rollback_switches_to_the_previous_release(code: Path) -> None:
    """A new release of ping on top of the one it serves (whichever that is), then playbooks/rollback.yml."""
    previous = {n: (current_release(n, "ping"), body(n, "/tools/ping/")) for n in NAMES}
    ping_release(code, " rollback")
    prepare(apps(code))
    for name in NAMES:
        assert body(name, "/tools/ping/") == "pong rollback"
    run = playbook(apps(code), "-e", "app=ping", name="rollback.yml")
    assert run.rc == 0, run.output[-3000:]
    for name in NAMES:
        release, reply = previous[name]
        for _attempt in range(20):  # the chain reload replaces the workers one by one
            if body(name, "/tools/ping/") == reply:
                break
            time.sleep(0.5)
        assert body(name, "/tools/ping/") == reply
        assert current_release(name, "ping") == release


def extra_app(code: Path) -> Dict[str, Any]:
    return {"name": "extra", "mount": "/extra", "module": "ping:application",
            "source": {"path": str(code / "apps/ping")}}


# CI saw one 502 on ping while an app was added (3548b94); APPMOUNT_ADD_APP_RUNS=10 repeats the case
ADD_APP_RUNS = int(os.environ.get("APPMOUNT_ADD_APP_RUNS", "1"))


@pytest.mark.parametrize("run", range(1, ADD_APP_RUNS + 1))
def test_zero_downtime_adding_an_app_then_absent_leaves_no_trace(code: Path, run: int, zero_downtime: Record) -> None:
    """`extra` is added under load, then removed (state: absent); each run starts without it."""
    without_extra = apps(code) + [dict(extra_app(code), state="absent")]
    prepare(without_extra)
    label = "(b) adding an app" + (f" #{run}" if ADD_APP_RUNS > 1 else "")
    results = measure(zero_downtime, label, lambda: deploy(apps(code) + [extra_app(code)]), ["blog", "notes", "ping"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["other_masters_unchanged"]
        assert http(get_host(name), "/extra/").status == 200
    # the app goes again, and leaves nothing behind
    before = {n: masters(get_host(n), ["blog", "notes", "ping"]) for n in NAMES}
    deploy(without_extra)
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/extra/").status == 404
        traces = host.run("find /etc/nginx /etc/uwsgi /srv/appmount /run/uwsgi /var/log/uwsgi"
                          " -name extra -o -name 'extra.*' -o -name '_extra'")
        assert traces.stdout == ""
        assert not host.user("_extra").exists and not host.group("_extra").exists
        assert host.run("pgrep -f 'apps-enabled/[e]xtra.ini'").rc == 1
        assert masters(host, ["blog", "notes", "ping"]) == before[name]


IDLE_S = 16  # the shortest idle_timeout the default start limit allows


def idle(name: str, app: str, timeout: float = IDLE_S + 20) -> bool:
    """Whether the app scales to zero within ``timeout`` s: no process left, its unit stopped cleanly (not failed,
    not restarted), its socket still listening."""
    wait = (f"until [ \"$(systemctl show -P ActiveState appmount-app@{app}.service)\" = inactive ]; do sleep 0.5; done"
            f" && ! pgrep -u _{app} >/dev/null")
    host = get_host(name)
    if host.run(f"timeout {timeout} sh -c '{wait}'").rc != 0:
        return False
    service = host.check_output(f"systemctl show -p Result,NRestarts appmount-app@{app}.service").split()
    return sorted(service) == ["NRestarts=0", "Result=success"] and host.check_output(
        f"systemctl show -P SubState appmount-app@{app}.socket") == "listening"


def test_an_idle_app_exits_counts_as_up_and_its_next_request_starts_it(code: Path) -> None:
    """Scale to zero (idle_timeout): the app's processes exit once it has had no request for that long; the next
    request is answered, not refused; a run while it is idle says changed=0 (the health gate's request wakes it)."""
    with_idle = apps(code) + [dict(extra_app(code), idle_timeout=IDLE_S)]
    prepare(with_idle)
    for name in NAMES:
        host = get_host(name)
        assert f"idle = {IDLE_S}" in host.file("/etc/uwsgi/apps-available/extra.ini").content_string
        assert idle(name, "extra"), host.check_output("journalctl -u appmount-app@extra.service -n 20 -o cat")
        # the next request starts the app through the socket systemd held, and is answered
        assert "pong" in body(name, "/extra/")
        assert host.check_output("systemctl show -P ActiveState appmount-app@extra.service") == "active"
        assert host.run("pgrep -u _extra").rc == 0
        assert http(host, "/blog/").status == 200  # the apps without idle_timeout kept running
    for name in NAMES:
        assert idle(name, "extra")
    run = playbook(with_idle, *APPS_ONLY)
    assert run.rc == 0 and set(run.changed().values()) == {0}, run.output[-3000:]
    for name in NAMES:
        assert get_host(name).check_output("systemctl show -P ActiveState appmount-app@extra.service") == "active"
    # the app goes again without a trace (idle or not, its socket and unit go with it)
    deploy(apps(code) + [dict(extra_app(code), state="absent")], *APPS_ONLY)
    for name in NAMES:
        assert get_host(name).run("systemctl is-active appmount-app@extra.socket").rc != 0


def test_uwsgi_option_change_restarts_that_app_alone(code: Path, zero_downtime: Record) -> None:
    prepare(apps(code) + [extra_app(code)])  # ping with the examples' one process; extra runs beside it
    new = apps(code, ping=PING2) + [extra_app(code)]
    before = {n: masters(get_host(n), ["ping"])["ping"] for n in NAMES}
    results = measure(zero_downtime, "(c) uWSGI option change of ping", lambda: deploy(new), ["blog", "notes", "extra"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["other_masters_unchanged"]
        host = get_host(name)
        # a graceful stop (q on the master FIFO) and a start; requests waited in the socket meanwhile
        master = masters(host, ["ping"])["ping"]
        assert master not in (before[name], "0")
        for _attempt in range(20):  # the new master spawns its workers
            workers = host.check_output(f"ps -o pid= --ppid {master}").split()
            if len(workers) == 2:
                break
            time.sleep(0.5)
        assert len(workers) == 2


def test_zero_downtime_systemctl_restart(zero_downtime: Record) -> None:
    """Whatever the apps' settings: ping runs in every state the tests leave (an app not deployed has master 0)."""
    def restart() -> None:
        for name in NAMES:
            get_host(name).check_output("systemctl restart appmount-app@ping.service")

    results = measure(zero_downtime, "(d) systemctl restart of ping", restart, ["blog", "notes", "extra"])
    for result in results.values():
        assert result["non_2xx"] == 0, result


def test_kill_9_of_a_master_loses_only_the_requests_in_flight(zero_downtime: Record) -> None:
    """systemd restarts the master; connections that arrive meanwhile wait in the socket it holds.

    Requests the killed master's workers hold are lost; every request sent once they are gone is answered.
    Like (d), whatever the apps' settings.
    """
    killed: Dict[str, int] = {}  # per host: ms from the kill -9 of the master to the exit of its last worker

    def kill() -> Dict[str, float]:
        """kill -9 of ping's master; the time at which its workers are gone too, host by host.

        The workers notice that their master died and exit; requests they had taken (also in the moment after
        the kill) go with them. From then on, connections wait in the socket until the new master answers.
        """
        gone_at = {}
        for name in NAMES:
            host = get_host(name)
            master = masters(host, ["ping"])["ping"]
            at, gone = host.check_output(
                f"workers=$(ps -o pid= --ppid {master}); date +%s.%N; kill -9 {master}; "
                "for p in $workers; do while [ -e /proc/$p ]; do sleep 0.01; done; done; date +%s.%N").split()
            gone_at[name] = float(gone)
            killed[name] = round((float(gone) - float(at)) * 1000)
        return gone_at

    before = {n: masters(get_host(n), ["ping"])["ping"] for n in NAMES}
    results = measure(zero_downtime, "(e) kill -9 of ping's master", kill, ["blog", "notes", "extra"])
    for name, result in results.items():
        print(f"\nKILL-9 {name}: the old workers were gone {killed[name]} ms after the kill; "
              f"{result['lost_in_flight']} requests sent before that failed, {result['failed_after_change']} after")
        assert result["failed_after_change"] == 0, result
        host = get_host(name)
        assert masters(host, ["ping"])["ping"] not in (before[name], "0")
        assert int(host.check_output("systemctl show -P NRestarts appmount-app@ping.service")) >= 1
    # the issue's own measurement: 300 sequential requests, kill -9 of the master after the 50th. A request sent
    # while the killed master's workers still run may be taken by one of them and lost with it (as in the load
    # above); every request sent once they are gone must be answered.
    for name in NAMES:
        out = get_host(name).check_output(
            "lost=0; fail=0; workers=; for i in $(seq 300); do "
            "if [ $i -eq 51 ]; then master=$(systemctl show -P MainPID appmount-app@ping.service); "
            "workers=$(ps -o pid= --ppid $master); kill -9 $master; fi; "
            "alive=0; for p in $workers; do [ -e /proc/$p ] && alive=1; done; "
            "code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 http://127.0.0.1/tools/ping/); "
            "if [ \"$code\" != 200 ]; then if [ $alive = 1 ]; then lost=$((lost+1)); else fail=$((fail+1)); fi; fi; "
            "done; echo $lost $fail")
        lost, failed = out.split()
        print(f"\nKILL-9 SEQUENTIAL {name}: 300 requests, kill -9 after the 50th: {lost} failed while the old "
              f"workers still ran, {failed} after they were gone")
        assert failed == "0"


def test_a_release_that_fails_its_import_leaves_the_old_one_serving(code: Path) -> None:
    app_py = code / "apps" / "blog" / "app.py"
    good = app_py.read_text()
    app_py.write_text(good + '\nraise RuntimeError("this release is broken")\n')  # in this test's copy only
    current = {n: current_release(n, "blog") for n in NAMES}
    run = playbook(apps(code, ping=PING2) + [extra_app(code)])
    assert run.rc != 0
    assert "blog: the new release does not import 'app:app'" in run.output
    assert "RuntimeError: this release is broken" in run.output
    for name in NAMES:
        assert current_release(name, "blog") == current[name]
        assert "The blog" in body(name, "/blog/")


KEEP_RELEASES = 3  # the role's default apps_keep_releases


def releases(name: str, app: str) -> List[str]:
    return [r for r in get_host(name).check_output(f"ls /srv/appmount/{app}/releases").split() if r != "history"]


def test_only_the_last_releases_are_kept(code: Path) -> None:
    """New releases of ping until it has had one more than are kept, whatever it had before (at least two new)."""
    had = min(len(releases(name, "ping")) for name in NAMES)
    versions = [f" v{3 + i}" for i in range(max(2, KEEP_RELEASES + 1 - had))]
    for version in versions:
        ping_release(code, version)
        deploy(apps(code, ping=PING2) + [extra_app(code)], *APPS_ONLY)
    for name in NAMES:
        assert len(releases(name, "ping")) == KEEP_RELEASES
        assert body(name, "/tools/ping/") == "pong" + versions[-1]


def test_one_app_alone_leaves_the_others_untouched(code: Path) -> None:
    """-e appmount_only=NAME with --tags apps: only that app moves, even when others have changes waiting."""
    app_py = code / "apps" / "blog" / "app.py"
    good = app_py.read_text()
    app_py.write_text(good + "\n# a change that waits for the next full run\n")  # in this test's copy only
    before = {n: current_release(n, "blog") for n in NAMES}
    blog_master = {n: masters(get_host(n), ["blog"]) for n in NAMES}
    ping_release(code, " only")
    output = deploy(apps(code, ping=PING2) + [extra_app(code)], "-e", "appmount_only=ping", "--tags", "apps")
    assert "nginx : Install the nginx packages" not in output
    for name in NAMES:
        host = get_host(name)
        assert current_release(name, "blog") == before[name]
        assert masters(host, ["blog"]) == blog_master[name]
        for _attempt in range(20):
            if body(name, "/tools/ping/") == "pong only":
                break
            time.sleep(0.5)
        assert body(name, "/tools/ping/") == "pong only"


def test_disabled_app_is_stopped_keeps_its_files_and_present_again_brings_it_back(code: Path) -> None:
    present = apps(code, ping=PING2) + [extra_app(code)]
    prepare(present)  # notes runs; nothing else changes below
    before = {n: masters(get_host(n), ["blog", "ping", "extra"]) for n in NAMES}
    deploy(apps(code, ping=PING2, notes={"state": "disabled"}) + [extra_app(code)], *APPS_ONLY)
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/notes/").status == 404
        assert host.run("pgrep -u _notes").rc == 1
        for path in ("/etc/uwsgi/apps-enabled/notes.ini", "/etc/nginx/appmount/locations-enabled/notes.conf"):
            assert not host.file(path).exists
        for path in ("/etc/uwsgi/apps-available/notes.ini", "/etc/nginx/appmount/locations-available/notes.conf",
                     "/srv/appmount/notes/current/venv/bin/python", "/srv/appmount/notes/current/code/notes.py"):
            assert host.file(path).exists
        assert host.user("_notes").exists
        assert masters(host, ["blog", "ping", "extra"]) == before[name]
    # present again
    deploy(present, *APPS_ONLY)
    for name in NAMES:
        assert "<h1>Notes</h1>" in body(name, "/notes/")


GIT_APP = """def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"git %s\\n"]
"""


def test_git_source_follows_its_version(code: Path) -> None:
    for name in NAMES:
        host = get_host(name)
        host.check_output("apt-get install -y -qq git >/dev/null && rm -rf /opt/gitapp && git init -q /opt/gitapp")
        for tag in ("v1", "v2"):
            content = GIT_APP % tag
            host.check_output(f"cat > /opt/gitapp/wsgi.py <<'EOF'\n{content}EOF")
            host.check_output(f"cd /opt/gitapp && git add -A && git -c user.name=t -c user.email=t@t commit -qm {tag}"
                              f" && git tag {tag}")
    for tag in ("v1", "v2"):
        app = {"name": "gitapp", "mount": "/git-app", "module": "wsgi:application",
               "source": {"git": "/opt/gitapp", "version": tag}}
        deploy(apps(code, ping=PING2) + [app], *APPS_ONLY)
        for name in NAMES:
            assert body(name, "/git-app/") == f"git {tag}"


def test_app_from_packages_only(code: Path) -> None:
    app = {"name": "werkzeug", "mount": "/wz", "module": "werkzeug.testapp:test_app", "packages": ["werkzeug>=3,<4"]}
    # built with pip, the fallback to the default uv
    deploy(apps(code, ping=PING2) + [app], *APPS_ONLY, "-e", "apps_python_installer=pip")
    for name in NAMES:
        response = http(get_host(name), "/wz/")
        assert response.status == 200 and "Werkzeug" in response.body
        venv = get_host(name).file("/srv/appmount/werkzeug/current/venv/pyvenv.cfg").content_string
        assert "home = /usr/bin" in venv and "uv =" not in venv


TEST_APPS = PROJECT / "tests" / "integration" / "apps"
# the apps role's default: an app that dies at every start is started this many times before systemd gives up
APPS_DEFAULTS = yaml.safe_load((PROJECT / "roles" / "apps" / "defaults" / "main.yml").read_text())
START_LIMIT_BURST = int(APPS_DEFAULTS["apps_start_limit_burst"])
# what uWSGI's ini parser used to rewrite, and what quoting could break: each must reach the app byte for byte
TRICKY_ENV = {
    "HOME_REF": "$(HOME)", "FILE_REF": "@(/etc/hostname)", "MAGIC": "%(x)", "CARET": "%^",
    "SECRET_KEY": "k9$(x!@#%^&*(-_=+)", "HASH": "#not a comment", "SEMI": ";not a comment",
    "QUOTES": "it's \"quoted\"", "BACKSLASH": "C:\\dir\\n", "PADDED": "  padded  ", "UNICODE": "ünïcødé ✓",
    "EMPTY": "", "DOLLAR": "$HOME ${HOME} `id`",
}
PROBE_LIMITS = {"memory_max": "128M", "tasks_max": 48, "cpu_quota": "50%"}


def probe_apps(**env: str) -> List[Dict[str, Any]]:
    """Two probe apps from one code (tests/integration/apps/probe): limits on the first, defaults on the second."""
    source = {"path": str(TEST_APPS / "probe")}
    return [dict({"name": "probe", "mount": "/probe", "module": "probe:application", "source": source,
                  "processes": 1, "env": dict(TRICKY_ENV, **env)}, **PROBE_LIMITS),
            {"name": "probe2", "mount": "/probe2", "module": "probe:application", "source": source}]


def probe(name: str, path: str) -> Any:
    response = http(get_host(name), path)
    assert response.status == 200, (path, response.status, response.body[:300])
    return response.json()


@pytest.fixture(scope="module")
def probes() -> None:
    """probe and probe2, deployed once: no test changes them (a playbook that lists them lists them as here, or is
    refused without a change), and a test that changes their units by other means puts them back."""
    deploy(probe_apps())


def test_env_values_reach_the_app_byte_for_byte(probes: None) -> None:
    for name in NAMES:
        seen = probe(name, "/probe/env")
        assert {key: seen.get(key) for key in TRICKY_ENV} == TRICKY_ENV
        assert seen["APPMOUNT_MOUNT"] == "/probe"


def test_a_change_of_env_alone_is_import_tested_before_the_app_sees_it(code: Path, probes: None) -> None:
    before = {n: (masters(get_host(n), ["probe"]), get_host(n).file("/etc/uwsgi/apps-available/probe.env").sha256sum)
              for n in NAMES}
    run = playbook(apps(code, ping=PING2) + probe_apps(PROBE_FAIL_IMPORT="1"))
    assert run.rc != 0
    assert "probe: the new environment or unit settings does not import 'probe:application'" in run.output
    assert "PROBE_FAIL_IMPORT is set" in run.output
    for name in NAMES:
        host = get_host(name)
        assert (masters(host, ["probe"]), host.file("/etc/uwsgi/apps-available/probe.env").sha256sum) == before[name]
        assert "PROBE_FAIL_IMPORT" not in probe(name, "/probe/env")
        assert not host.file("/etc/uwsgi/apps-available/probe.env.appmount-new").exists


PRIVATE_DEV = {"char", "core", "fd", "full", "hugepages", "log", "mqueue", "null", "ptmx", "pts", "random", "shm",
               "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
# each protection of the unit, what its probe sees with it, and the setting that removes it (for one run)
PROTECTIONS = {
    "ProtectSystem": ("write_world_writable_dir", "ProtectSystem=no"),
    "PrivateTmp": ("tmp", "PrivateTmp=no"),
    "TemporaryFileSystem=/dev/shm": ("tmp", "TemporaryFileSystem="),
    "ProtectHome": ("list_home", "ProtectHome=no"),
    "PrivateDevices": ("dev", "PrivateDevices=no"),
    "ProtectProc": ("processes_of_other_users", "ProtectProc=default"),
    "RestrictAddressFamilies": ("netlink_socket", "RestrictAddressFamilies="),
    "SystemCallFilter": ("obsolete_syscall", "SystemCallFilter="),
    "MemoryDenyWriteExecute": ("wx_memory", "MemoryDenyWriteExecute=no"),
    "UMask": ("new_file_mode", "UMask=0022"),
}


def sandboxed(result: Dict[str, Any], key: str, host: Any, app: str) -> bool:
    """Whether the probe ``key`` of ``app`` shows its protection in effect."""
    value = result[key]
    if key == "tmp":
        # the app may write its /tmp, /var/tmp and /dev/shm (ProtectSystem=strict alone would make them read-only),
        # and what it writes there is seen neither by the host nor by other apps
        writes = all(result[k] == "allowed" for k in ("write_tmp", "write_var_tmp", "write_dev_shm"))
        return writes and not any(host.file(f"{tmp}/probe-{app}").exists for tmp in ("/tmp", "/var/tmp", "/dev/shm"))
    if key == "dev":
        return set(value) <= PRIVATE_DEV
    if key == "processes_of_other_users":
        return bool(value == 0)
    if key == "new_file_mode":
        return bool(value == "0o640")
    return str(value).startswith("denied")


def test_the_sandbox_stops_each_probe_and_each_probe_catches_its_protection_missing(probes: None) -> None:
    for name in NAMES:
        host = get_host(name)
        host.check_output("install -d -m 1777 /srv/appmount-probe-rw; rm -f /tmp/probe-* /var/tmp/probe-* "
                          "/dev/shm/probe-*")
        result = probe(name, "/probe2/sandbox")
        print(f"\nSANDBOX {name}: {result}")
        assert result["no_new_privs"] == "1"
        assert set(host.check_output("ls /dev").split()) - PRIVATE_DEV, "the probe of PrivateDevices sees nothing"
        for protection, (key, _off) in PROTECTIONS.items():
            assert sandboxed(result, key, host, "probe2"), (protection, key, result[key])
        # and another app's private /tmp is not this one's
        assert "probe-probe2" not in probe(name, "/probe/sandbox")["tmp"]
        override = "/etc/systemd/system/appmount-app@probe2.service.d/zz-test.conf"
        for protection, (key, off) in PROTECTIONS.items():
            try:
                # reset-failed: these restarts must not count against the app's start limit
                host.check_output(f"printf '[Service]\\n{off}\\n' > {override} && systemctl daemon-reload && "
                                  "systemctl reset-failed appmount-app@probe2.service; "
                                  "systemctl restart appmount-app@probe2.service")
                without = probe(name, "/probe2/sandbox")
                print(f"\nSANDBOX {name} without {protection}: {key}={without[key]}")
                assert not sandboxed(without, key, host, "probe2"), (protection, key, without[key])
            finally:
                host.check_output(f"rm -f {override} /tmp/probe-* /var/tmp/probe-* /dev/shm/probe-* && "
                                  "systemctl daemon-reload && systemctl reset-failed appmount-app@probe2.service; "
                                  "systemctl restart appmount-app@probe2.service")
        assert sandboxed(probe(name, "/probe2/sandbox"), "write_world_writable_dir", host, "probe2")


def test_limits_are_in_effect(probes: None) -> None:
    for name in NAMES:
        host = get_host(name)
        show = dict(line.split("=", 1) for line in host.check_output(
            "systemctl show appmount-app@probe.service -p MemoryMax,TasksMax,CPUQuotaPerSecUSec").splitlines())
        assert show == {"MemoryMax": str(128 * 1024 * 1024), "TasksMax": "48", "CPUQuotaPerSecUSec": "500ms"}
        limits = probe(name, "/probe/limits")
        print(f"\nLIMITS {name}: {limits}")
        assert int(limits["memory"]) == 128 * 1024 * 1024
        assert limits["tasks"] == "48"
        assert limits["cpu_quota_us"] in ("50000", "50000 100000")
        started = probe(name, "/probe/threads?n=100")["started"]
        assert 0 < started < 48
        # the other app has the role's defaults
        assert host.check_output("systemctl show -P MemoryMax appmount-app@probe2.service") == str(1024 ** 3)


def test_an_app_past_its_memory_limit_is_killed_and_answers_again(probes: None) -> None:
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/probe/alloc?mb=200").status >= 500
        started = time.monotonic()
        while time.monotonic() - started < 10 and http(host, "/probe/").status != 200:
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        print(f"\nMEMORY-LIMIT {name}: the worker past 128M was killed; probe answers again after {elapsed:.1f} s")
        assert http(host, "/probe/").status == 200
        # the kernel killed the worker that allocated (SIGKILL), and uWSGI's master started another
        assert "killed by signal 9" in host.check_output(
            "journalctl -u appmount-app@probe.service --no-pager -o cat | tail -n 30")
        for path in ("/blog/", "/tools/ping/", "/probe2/"):
            assert http(host, path).status == 200


def test_an_app_that_dies_at_every_start_ends_failed_and_the_play_says_so(code: Path) -> None:
    crash = {"name": "crash", "mount": "/crash", "module": "crash:application",
             "source": {"path": str(TEST_APPS / "crash")}}
    since = {name: get_host(name).check_output("date '+%Y-%m-%d %H:%M:%S'") for name in NAMES}
    try:
        run = playbook(apps(code, ping=PING2) + probe_apps() + [crash])
        assert run.rc != 0
        assert "crash" in run.output and "appmount-app@crash.service" in run.output, run.output[-3000:]
        assert "this app dies at every start under uWSGI" in run.output
        for name in NAMES:
            host = get_host(name)
            assert host.check_output("systemctl show -P ActiveState appmount-app@crash.service") == "failed"
            # systemd started it again and again until its start limit (StartLimitBurst, the role's default), and
            # the socket gave up with it. The starts are counted in the journal, not as NRestarts: the request of
            # the health gate that waits in the socket starts the app too, and such a start sets NRestarts to 0
            assert host.check_output("systemctl show -P Result appmount-app@crash.socket") == "service-start-limit-hit"
            starts = sum(line.startswith("Starting ") and "appmount.wsgi app crash (uWSGI)" in line
                         for line in journal(host, "crash", since[name]).splitlines())
            print(f"\nCRASH {name}: started {starts} times before systemd gave up")
            assert starts >= START_LIMIT_BURST
            assert http(host, "/blog/").status == 200
    finally:  # no failed unit is left for the next test
        deploy(apps(code, ping=PING2) + probe_apps() + [dict(crash, state="absent")])


def test_uwsgi_apps_that_appmount_did_not_write_are_refused(code: Path) -> None:
    try:
        for name in NAMES:
            get_host(name).check_output("printf '[uwsgi]\\nplugins = python3\\n' > /etc/uwsgi/apps-available/other.ini"
                                        " && ln -sf ../apps-available/other.ini /etc/uwsgi/apps-enabled/other.ini")
        before = {name: get_host(name).check_output(SNAPSHOT) for name in NAMES}
        run = playbook(apps(code, ping=PING2) + probe_apps())
        assert run.rc != 0
        assert "/etc/uwsgi/apps-enabled/ has uWSGI apps that appmount.wsgi does not manage: other.ini" in run.output
        assert {name: get_host(name).check_output(SNAPSHOT) for name in NAMES} == before
    finally:
        for name in NAMES:
            get_host(name).check_output("rm -f /etc/uwsgi/apps-enabled/other.ini /etc/uwsgi/apps-available/other.ini")


def enabled_units(host: Any) -> List[str]:
    names = host.check_output("ls /etc/uwsgi/apps-enabled").split()
    return sorted(f"appmount-app@{n[:-4]}.service" for n in names if n.endswith(".ini"))


def booted(host: Any) -> None:
    """Wait until systemd has booted the container and blog and ping answer."""
    for _attempt in range(60):
        if host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded"):
            break
        time.sleep(1)
    for _attempt in range(30):
        if http(host, "/blog/").status == 200 and http(host, "/tools/ping/").status == 200:
            break
        time.sleep(1)


def test_after_a_reinstall_of_uwsgi_and_a_reboot_each_app_runs_once_in_its_unit(code: Path) -> None:
    """notes stays disabled afterwards: a test that needs it deploys it."""
    deploy(apps(code, ping=PING2, notes={"state": "disabled"}) + probe_apps())
    for name in NAMES:
        host = get_host(name)
        assert uwsgi_masters(host) == enabled_units(host)
        # the package's maintainer scripts restart Debian's uwsgi service: it is masked, nothing starts twice
        host.check_output("DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -qq uwsgi >/dev/null 2>&1")
        assert uwsgi_masters(host) == enabled_units(host)
    try:
        subprocess.run(["docker", "restart", *NAMES], check=True, capture_output=True)
    finally:  # whatever failed, the next test starts on booted hosts
        for name in NAMES:
            booted(get_host(name))
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/blog/").status == 200
        assert http(host, "/tools/ping/").status == 200
        assert http(host, "/notes/").status == 404
        assert host.run("pgrep -u _notes").rc == 1
        masters_now = uwsgi_masters(host)
        print(f"\nREBOOT {name}: uWSGI masters by unit after a reinstall of uwsgi and a reboot: {masters_now}")
        assert masters_now == enabled_units(host)
        assert "appmount-app@notes.service" not in masters_now
