"""A fleet behind a balancer, reached over SSH: rolling deploys host by host, halted at the first bad host.

The tests run in file order (pytest-randomly is off for this scenario): each one starts from where the one before
left the fleet, as a team's deploys follow each other.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any, Callable

import yaml
from appmount_testinfra import Run, get_host, load_result, playbook, start_load, stop_load

SCENARIO = Path(__file__).resolve().parents[1]
BALANCER = "appmount-fleet-lb"
APP_HOSTS = ["appmount-fleet-app1", "appmount-fleet-app2", "appmount-fleet-app3"]
SPARE = "appmount-fleet-app4"
ADDRESS = {"appmount-fleet-lb": "172.30.77.10", "appmount-fleet-app1": "172.30.77.11",
           "appmount-fleet-app2": "172.30.77.12", "appmount-fleet-app3": "172.30.77.13",
           "appmount-fleet-app4": "172.30.77.14"}
SITE = "fleet.test"
# the balancer's self-signed certificate, copied to the clients that verify it
CERT = "/etc/ssl/appmount/fleet/fullchain.pem"
CLIENT_CERT = "/root/fleet-ca.pem"
UPSTREAM = "/etc/nginx/conf.d/appmount-balancer.conf"


def apps() -> list[dict[str, Any]]:
    with open(SCENARIO / "vars" / "apps.yml", encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["appmount_apps"])


def deploy(code: Path, *args: str) -> Run:
    return playbook(apps(), *args, source_dir=code)


def release(code: Path, name: str, *, broken: bool = False) -> None:
    """A new release of the whoami code: it says ``name``, or it fails its import test."""
    path = code / "whoami" / "whoami.py"
    text = re.sub(r'^RELEASE = ".*"$', f'RELEASE = "{name}"', path.read_text(encoding="utf-8"), flags=re.M)
    if broken:
        text += '\nraise RuntimeError("this release does not import")\n'
    path.write_text(text, encoding="utf-8")


def trust_the_balancer(client: str) -> None:
    """The balancer's certificate on a client container, for curl to verify."""
    pem = get_host(BALANCER).check_output(f"cat {CERT}")
    get_host(client).check_output(f"printf '%s\\n' {shlex.quote(pem)} > {CLIENT_CERT}")


def ask(client: str, path: str = "/whoami/", method: str = "GET", headers: dict[str, str] | None = None,
        url: str = f"https://{SITE}") -> tuple[int, str]:
    """One request from a container (curl, no redirect followed): the status and the body."""
    cmd = ["curl", "-sS", "--max-time", "20", "-o", "/root/answer", "-w", "%{http_code}", "-X", method,
           "--cacert", CLIENT_CERT]
    if method == "POST":
        cmd += ["--data", "x=1"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    cmd.append(url + path)
    host = get_host(client)
    status = int(host.check_output(shlex.join(cmd)))
    return status, host.check_output("cat /root/answer")


def through_balancer(times: int, path: str = "/whoami/") -> list[dict[str, Any]]:
    """``times`` requests through the balancer, from the balancer's own container."""
    trust_the_balancer(BALANCER)
    answers = []
    for _attempt in range(times):
        status, body = ask(BALANCER, path)
        assert status == 200, body
        answers.append(json.loads(body))
    return answers


def drained() -> list[str]:
    """The app hosts the balancer's upstream marks down."""
    text = get_host(BALANCER).file(UPSTREAM).content_string
    return sorted(re.findall(r" down;\s+# (\S+) \(drained\)", text))


def current_release(host: str, app: str = "whoami") -> str:
    return get_host(host).check_output(f"readlink /srv/appmount/{app}/current")


def test_every_app_answers_through_the_balancer_over_https_from_every_host() -> None:
    answers = through_balancer(9)
    assert {a["host"] for a in answers} == set(APP_HOSTS), answers
    assert through_balancer(3, "/tools/echo/")[0]["release"] == "one"
    # plain HTTP at the balancer moves to HTTPS, path and query kept; the app hosts never redirect
    balancer = get_host(BALANCER)
    assert balancer.check_output(f"curl -s -o /dev/null -w '%{{http_code}} %{{redirect_url}}' "
                                 f"http://{SITE}/whoami/?a=1") == f"301 https://{SITE}/whoami/?a=1"
    assert drained() == []


def test_apps_see_the_client_address_and_https_and_believe_forwarded_headers_only_from_the_balancer() -> None:
    client = APP_HOSTS[2]
    trust_the_balancer(client)
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
    status, body = ask(client, headers=forged)
    seen = json.loads(body)
    assert status == 200
    # the balancer replaces what the client claims with what it saw
    assert (seen["remote_addr"], seen["url_scheme"], seen["http_host"], seen["forwarded_for"],
            seen["forwarded_host"]) == (ADDRESS[client], "https", SITE, ADDRESS[client], SITE), seen
    # straight at an app host, the same headers change nothing and do not reach the app
    direct = {"Host": SITE, "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
              "X-Forwarded-Host": "evil.test"}
    status, body = ask(client, headers=direct, url=f"http://{ADDRESS[APP_HOSTS[0]]}")
    seen = json.loads(body)
    assert (status, seen["remote_addr"], seen["url_scheme"], seen["forwarded_for"], seen["forwarded_host"]) == \
        (200, ADDRESS[client], "http", None, None), seen


def test_a_failed_get_is_retried_on_another_host_and_a_failed_post_is_not() -> None:
    """whoami stops on app1 (its nginx answers 502): GETs through the balancer still all succeed, while a POST
    that reached app1 gets its 502. nginx is reloaded before each part, so that no earlier failure keeps app1
    out (max_fails), and the first request of each fresh worker goes to app1, the first server."""
    broken = get_host(APP_HOSTS[0])
    balancer = get_host(BALANCER)
    trust_the_balancer(BALANCER)
    log = "/var/log/nginx/access.log"
    broken.check_output("systemctl stop appmount-app@whoami.socket appmount-app@whoami.service")
    try:
        balancer.check_output("systemctl reload nginx && sleep 1")
        before = int(broken.check_output(f"grep -c '\"GET /whoami/ HTTP/1.1\" 502' {log} || true"))
        gets = [ask(BALANCER)[0] for _attempt in range(6)]
        tried = int(broken.check_output(f"grep -c '\"GET /whoami/ HTTP/1.1\" 502' {log} || true")) - before
        balancer.check_output("systemctl reload nginx && sleep 1")
        before = int(broken.check_output(f"grep -c '\"POST /whoami/ HTTP/1.1\" 502' {log} || true"))
        posts = [ask(BALANCER, method="POST")[0] for _attempt in range(6)]
        reached = int(broken.check_output(f"grep -c '\"POST /whoami/ HTTP/1.1\" 502' {log} || true")) - before
    finally:
        broken.check_output("systemctl start appmount-app@whoami.socket")
    print(f"\nRETRIES gets={gets} (app1 answered 502 to {tried}) posts={posts} (app1 answered 502 to {reached})")
    assert tried >= 1 and gets == [200] * 6
    assert reached >= 1 and posts.count(502) == reached and posts.count(200) == 6 - reached


def deploy_under_load(code: Path, label: str,
                      meanwhile: Callable[[], Any] = lambda: None) -> tuple[Run, dict[str, Any], Any]:
    """site.yml under a bounded load through the balancer (from its own container); ``meanwhile`` runs after the
    playbook, before the load stops. Prints the run's time, the load's figures and the fleet summary."""
    trust_the_balancer(BALANCER)
    start_load(BALANCER, ["/whoami/", "/tools/echo/"], clients=4, seconds=240, base=f"https://{SITE}",
               cafile=CLIENT_CERT)
    started = time.monotonic()
    try:
        run = deploy(code)
        took = time.monotonic() - started
        seen = meanwhile()
    finally:
        stop_load(BALANCER)
    result = load_result(BALANCER)
    print(f"\n{label} site.yml {took:.1f} s, requests={result['requests']} non_2xx={result['non_2xx']} "
          f"slowest_ms={result['slowest_ms_by_path']} failures={result['failures']}\n{fleet_summary(run)}"
          f"\n{re.findall(r'the rollout stopped at .*', run.output)[:1]}")
    return run, result, seen


def test_a_code_change_rolls_host_by_host_under_load_with_no_failed_request(code: Path) -> None:
    release(code, "two")
    run, result, _seen = deploy_under_load(code, "ROLLOUT")
    assert run.rc == 0, run.output[-6000:]
    assert result["non_2xx"] == 0, result
    assert result["requests"] > 100
    # one host per batch, in inventory order; each drained, deployed and put back
    batches = re.findall(r"^PLAY \[Deploy WSGI apps.*\]", run.output, re.M)
    assert len(batches) == len(APP_HOSTS), run.output[-3000:]
    assert {a["release"] for a in through_balancer(6)} == {"two"}
    assert drained() == []
    # the hook marked once ran on the first host only; the others say they skipped it
    assert "whoami: hook ran: python -c" in host_messages(run, APP_HOSTS[0])
    for host in APP_HOSTS[1:]:
        assert "whoami: hook marked once skipped on this host" in host_messages(run, host)
    # the fleet summary: every host, its apps and releases, the balancer's view and the probe
    summary = fleet_summary(run)
    for host in APP_HOSTS:
        assert re.search(rf"{host}\s+passed\s+whoami\s+\S+\s+200\s+serving\s+200", summary), summary
    assert f"balancer {BALANCER}: every app host serving" in summary


def test_a_release_that_fails_its_import_stops_at_the_first_host_while_the_others_serve(code: Path) -> None:
    before = {host: current_release(host) for host in APP_HOSTS}
    release(code, "broken", broken=True)
    # the balancer serves the current release from the other hosts (the load goes on a little after the run). Its
    # round robin is shared with the load's requests: 20 requests, not 6, so that both hosts answer some of them
    # (6 went all to one host once in CI, a chance of about 1 in 32)
    run, result, answers = deploy_under_load(code, "HALTED", lambda: through_balancer(20))
    assert run.rc != 0
    assert result["non_2xx"] == 0, result
    assert re.search(rf"the rollout stopped at {APP_HOSTS[0]}: .*whoami", run.output), run.output[-4000:]
    # only the first batch ran; the failed host stays drained, the others keep their release and serve
    assert len(re.findall(r"^PLAY \[Deploy WSGI apps.*\]", run.output, re.M)) == 1 or \
        "not attempted" in fleet_summary(run)
    assert drained() == [APP_HOSTS[0]]
    assert {host: current_release(host) for host in APP_HOSTS} == before
    assert {a["host"] for a in answers} == set(APP_HOSTS[1:])
    summary = fleet_summary(run)
    assert re.search(rf"{APP_HOSTS[0]}\s+failed\s+.*drained", summary), summary
    for host in APP_HOSTS[1:]:
        assert re.search(rf"{host}\s+not attempted\s+.*serving", summary), summary


def test_a_host_added_to_the_group_gets_the_apps_and_joins_the_balancer(code: Path, tmp_path: Path) -> None:
    """app4 joins the group; the same run also puts back app1, which the halted rollout left drained."""
    extra = tmp_path / "more.yml"
    extra.write_text(yaml.safe_dump({"appmount": {"hosts": {SPARE: {}}}}), encoding="utf-8")
    release(code, "three")
    run = deploy(code, "-i", str(extra))
    assert run.rc == 0, run.output[-6000:]
    assert drained() == []
    answers = through_balancer(12)
    assert {a["host"] for a in answers} == set([*APP_HOSTS, SPARE]), answers
    assert {a["release"] for a in answers} == {"three"}
    assert f"# {SPARE} (serving)" in get_host(BALANCER).file(UPSTREAM).content_string


def host_messages(run: Run, host: str) -> str:
    """What the play showed for ``host`` in its debug messages (the apps' table, the fleet summary)."""
    found = re.findall(rf"^ok: \[{re.escape(host)}\] => \n?((?:[ \t].*\n|\n)+)", run.output + "\n", re.M)
    return "\n".join(found)


def fleet_summary(run: Run) -> str:
    """The fleet summary the run showed (its last play)."""
    part = run.output.split("TASK [appmount.wsgi.balancer : Show the fleet]", 1)
    assert len(part) == 2, run.output[-3000:]
    # from the line after the task's banner to the next task or play
    return part[1].split("\n", 1)[-1].split("\nTASK [", 1)[0].split("\nPLAY ", 1)[0]
