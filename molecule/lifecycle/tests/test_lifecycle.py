"""App lifecycle on a serving host: the tests run in file order and each deploys the app list it needs.

Playbooks run from the controller against both containers at once; every HTTP
check and every load runs inside the containers.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from appmount_testinfra import (
    PROJECT,
    example_apps,
    get_host,
    http,
    load_result,
    masters,
    molecule_names,
    playbook,
    start_load,
)

NAMES = molecule_names()
SNAPSHOT = (
    "cd / && find etc/nginx etc/uwsgi srv/appmount -printf '%p %y %m %u %g %s %l\\n' | sort | sha256sum"
    " && find etc/nginx etc/uwsgi srv/appmount -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum"
)
RESULTS: Dict[str, Dict[str, Any]] = {}
PING2 = {"processes": 2}  # ping from test (c) on


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


def test_a_bad_nginx_directive_never_reaches_nginx(code: Path) -> None:
    before = {name: get_host(name).check_output(SNAPSHOT) for name in NAMES}
    run = playbook(apps(code), "-e", '{"nginx_site_extra_directives": ["bogus_directive on;"]}')
    assert run.rc != 0
    assert 'unknown directive "bogus_directive"' in run.output
    for name in NAMES:
        assert get_host(name).check_output(SNAPSHOT) == before[name]
        assert http(get_host(name), "/blog/").status == 200


def measure(label: str, change: Any, watched: List[str]) -> Dict[str, Any]:
    """Run `change` under 20 clients x 20 s on blog and ping; report non-2xx and the slowest response."""
    before = {n: masters(get_host(n), watched) for n in NAMES}
    # where a failed request would be explained: nginx's errors, from this load on
    error_log = {n: int(get_host(n).check_output("stat -c %s /var/log/nginx/error.log")) for n in NAMES}
    for n in NAMES:
        start_load(n, ["/blog/about", "/tools/ping/"], clients=20, seconds=20)
    time.sleep(3)
    change()
    results = {n: load_result(n) for n in NAMES}
    for n, result in results.items():
        result["other_masters_unchanged"] = masters(get_host(n), watched) == before[n]
        if result["non_2xx"]:
            result["nginx_errors"] = get_host(n).check_output(
                f"tail -c +{error_log[n] + 1} /var/log/nginx/error.log | grep -v '\\[notice\\]' | tail -n 5")
        RESULTS.setdefault(n, {})[label] = result
        print(f"\nZERO-DOWNTIME {n} {label}: {result}")
    return results


def test_zero_downtime_code_change(code: Path) -> None:
    ping_release(code, " v2")
    results = measure("(a) code change of ping", lambda: deploy(apps(code)), ["blog", "notes"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["requests"] > 100
        assert result["other_masters_unchanged"]
        assert body(name, "/tools/ping/") == "pong v2"


def test_rollback_switches_to_the_previous_release(code: Path) -> None:
    run = playbook(apps(code), "-e", "app=ping", name="rollback.yml")
    assert run.rc == 0, run.output[-3000:]
    for name in NAMES:
        for _attempt in range(20):  # the chain reload replaces the workers one by one
            if body(name, "/tools/ping/") == "pong":
                break
            time.sleep(0.5)
        assert body(name, "/tools/ping/") == "pong"
    # the code now matches the release being served again
    shutil.copy(PROJECT / "examples" / "apps" / "ping" / "ping.py", code / "apps" / "ping" / "ping.py")


def extra_app(code: Path) -> Dict[str, Any]:
    return {"name": "extra", "mount": "/extra", "module": "ping:application", "source": {"path": str(code / "apps/ping")}}


def test_zero_downtime_adding_an_app(code: Path) -> None:
    results = measure("(b) adding an app", lambda: deploy(apps(code) + [extra_app(code)]), ["blog", "notes", "ping"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["other_masters_unchanged"]
        assert http(get_host(name), "/extra/").status == 200


def test_uwsgi_option_change_reloads_that_app_alone(code: Path) -> None:
    new = apps(code, ping=PING2) + [extra_app(code)]
    before = {n: masters(get_host(n), ["ping"])["ping"] for n in NAMES}
    since = {n: get_host(n).check_output("date '+%Y-%m-%d %H:%M:%S'") for n in NAMES}
    results = measure("(c) uWSGI option change of ping", lambda: deploy(new), ["blog", "notes", "extra"])
    for name, result in results.items():
        assert result["non_2xx"] == 0, result
        assert result["other_masters_unchanged"]
        host = get_host(name)
        # reloaded in place (uWSGI re-executes itself and reads its ini again as the app's user),
        # not a master that died in its reload and was started again by the watchdog
        assert masters(host, ["ping"])["ping"] == before[name]
        journal = host.check_output(f"journalctl -u appmount-uwsgi-watchdog --no-pager --since '{since[name]}'")
        assert "not running" not in journal, journal
        for _attempt in range(20):  # the gracefully reloaded master spawns its workers again
            workers = host.check_output(f"ps -o pid= --ppid {before[name]}").split()
            if len(workers) == 2:
                break
            time.sleep(0.5)
        assert len(workers) == 2


def test_a_release_that_fails_its_import_leaves_the_old_one_serving(code: Path) -> None:
    app_py = code / "apps" / "blog" / "app.py"
    good = app_py.read_text()
    app_py.write_text(good + '\nraise RuntimeError("this release is broken")\n')
    current = {n: get_host(n).check_output("readlink /srv/appmount/blog/current") for n in NAMES}
    try:
        run = playbook(apps(code, ping=PING2) + [extra_app(code)])
    finally:
        app_py.write_text(good)
    assert run.rc != 0
    assert "blog: the new release does not import 'app:app'" in run.output
    assert "RuntimeError: this release is broken" in run.output
    for name in NAMES:
        assert get_host(name).check_output("readlink /srv/appmount/blog/current") == current[name]
        assert "The blog" in body(name, "/blog/")


def test_only_the_last_releases_are_kept(code: Path) -> None:
    for version in (" v3", " v4"):
        ping_release(code, version)
        deploy(apps(code, ping=PING2) + [extra_app(code)])
    for name in NAMES:
        host = get_host(name)
        releases = host.check_output("ls /srv/appmount/ping/releases").split()
        assert len([r for r in releases if r != "history"]) == 3
        assert body(name, "/tools/ping/") == "pong v4"


def test_one_app_alone_leaves_the_others_untouched(code: Path) -> None:
    """-e appmount_only=NAME with --tags apps: only that app moves, even when others have changes waiting."""
    app_py = code / "apps" / "blog" / "app.py"
    good = app_py.read_text()
    app_py.write_text(good + "\n# a change that waits for the next full run\n")
    before = {n: get_host(n).check_output("readlink /srv/appmount/blog/current") for n in NAMES}
    blog_master = {n: masters(get_host(n), ["blog"]) for n in NAMES}
    ping_release(code, " only")
    try:
        output = deploy(apps(code, ping=PING2) + [extra_app(code)], "-e", "appmount_only=ping", "--tags", "apps")
    finally:
        app_py.write_text(good)
    assert "nginx : Install the nginx packages" not in output
    for name in NAMES:
        host = get_host(name)
        assert host.check_output("readlink /srv/appmount/blog/current") == before[name]
        assert masters(host, ["blog"]) == blog_master[name]
        for _attempt in range(20):
            if body(name, "/tools/ping/") == "pong only":
                break
            time.sleep(0.5)
        assert body(name, "/tools/ping/") == "pong only"


def test_disabled_app_is_stopped_and_keeps_its_files(code: Path) -> None:
    before = {n: masters(get_host(n), ["blog", "ping", "extra"]) for n in NAMES}
    deploy(apps(code, ping=PING2, notes={"state": "disabled"}) + [extra_app(code)])
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


def test_present_again_brings_it_back(code: Path) -> None:
    deploy(apps(code, ping=PING2) + [extra_app(code)])
    for name in NAMES:
        assert "<h1>Notes</h1>" in body(name, "/notes/")


def test_absent_app_leaves_no_trace(code: Path) -> None:
    before = {n: masters(get_host(n), ["blog", "notes", "ping"]) for n in NAMES}
    deploy(apps(code, ping=PING2) + [dict(extra_app(code), state="absent")])
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/extra/").status == 404
        traces = host.run("find /etc/nginx /etc/uwsgi /srv/appmount /run/uwsgi /var/log/uwsgi"
                          " -name extra -o -name 'extra.*' -o -name '_extra'")
        assert traces.stdout == ""
        assert not host.user("_extra").exists and not host.group("_extra").exists
        assert host.run("pgrep -f 'apps-enabled/[e]xtra.ini'").rc == 1
        assert masters(host, ["blog", "notes", "ping"]) == before[name]


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
        deploy(apps(code, ping=PING2) + [app])
        for name in NAMES:
            assert body(name, "/git-app/") == f"git {tag}"


def test_app_from_packages_only(code: Path) -> None:
    app = {"name": "werkzeug", "mount": "/wz", "module": "werkzeug.testapp:test_app", "packages": ["werkzeug>=3,<4"]}
    deploy(apps(code, ping=PING2) + [app])
    for name in NAMES:
        response = http(get_host(name), "/wz/")
        assert response.status == 200 and "Werkzeug" in response.body


def test_a_killed_master_serves_again_within_10s() -> None:
    for name in NAMES:
        host = get_host(name)
        others = masters(host, ["notes", "ping"])
        old = host.file("/run/uwsgi/app/blog/pid").content_string.strip()
        host.check_output(f"kill -9 {old}")
        started = time.monotonic()
        while time.monotonic() - started < 10:
            if http(host, "/blog/about").status == 200 and masters(host, ["blog"])["blog"] != old:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        print(f"\nSUPERVISION {name}: blog serves again {elapsed:.1f} s after kill -9 of its master")
        assert elapsed < 10
        assert masters(host, ["notes", "ping"]) == others
        # the master the watchdog started outlives a restart of the watchdog
        revived = masters(host, ["blog"])["blog"]
        host.check_output("systemctl restart appmount-uwsgi-watchdog")
        assert masters(host, ["blog"])["blog"] == revived
        assert host.file(f"/proc/{revived}").exists
        assert http(host, "/blog/about").status == 200


def test_the_watchdog_waits_while_a_deploy_holds_its_lock() -> None:
    for name in NAMES:
        host = get_host(name)
        # what app_deploy holds while it starts and stops apps, held here until /tmp/release exists
        host.check_output("rm -f /tmp/held /tmp/release; setsid flock /run/lock/appmount-uwsgi.lock "
                          "sh -c 'touch /tmp/held; until [ -e /tmp/release ]; do sleep 0.1; done' "
                          ">/dev/null 2>&1 < /dev/null &")
        host.check_output("timeout 10 sh -c 'until [ -e /tmp/held ]; do sleep 0.1; done'")
        host.check_output(f"kill -9 {masters(host, ['blog'])['blog']}")
        time.sleep(4)  # two watchdog rounds, both skipped
        assert http(host, "/blog/about").status == 502
        host.check_output("touch /tmp/release")
        started = time.monotonic()
        while time.monotonic() - started < 12:
            if http(host, "/blog/about").status == 200:
                break
            time.sleep(0.2)
        assert time.monotonic() - started < 12, "blog was not started again once the lock was released"


def test_after_a_reboot_present_apps_serve_and_disabled_do_not(code: Path) -> None:
    deploy(apps(code, ping=PING2, notes={"state": "disabled"}))
    subprocess.run(["docker", "restart", *NAMES], check=True, capture_output=True)
    for name in NAMES:
        host = get_host(name)
        for _attempt in range(60):
            if host.run("systemctl is-system-running").stdout.strip() in ("running", "degraded"):
                break
            time.sleep(1)
        for _attempt in range(30):
            if http(host, "/blog/").status == 200 and http(host, "/tools/ping/").status == 200:
                break
            time.sleep(1)
        assert http(host, "/blog/").status == 200
        assert http(host, "/tools/ping/").status == 200
        assert http(host, "/notes/").status == 404
        assert host.run("pgrep -u _notes").rc == 1


def test_zero_downtime_report() -> None:
    """Print the measured figures together (the closing note quotes them)."""
    for name, results in RESULTS.items():
        for label, result in results.items():
            print(f"\nZERO-DOWNTIME SUMMARY {name} {label}: requests={result['requests']} "
                  f"non_2xx={result['non_2xx']} slowest_ms={result['slowest_ms_by_path']}")
    assert RESULTS
