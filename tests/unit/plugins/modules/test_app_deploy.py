"""The app_deploy module: the order of a run, through main() with the real AnsibleModule. Every path of the records
is moved under tmp_path; ``systemctl`` is a recorder (conftest's ``Systemctl``) and the import test runs the command
directly instead of through systemd-run: both need systemd as PID 1, and Molecule runs the real ones."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.filter.apps import apps_normalize
from ansible_collections.appmount.wsgi.plugins.module_utils import envfile
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import history, release_id, save_history
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import Units
from ansible_collections.appmount.wsgi.plugins.modules import app_deploy

NO_USER = "_appmount-no-such-account"
DEFAULTS = {"processes": 2, "threads": 4, "request_log": False, "memory_max": "1G", "cpu_quota": "", "tasks_max": 512,
            "idle_timeout": 0, "listen": 1024}


@pytest.fixture(autouse=True)
def no_systemd(direct_run: Any, systemctl: Any) -> Any:
    return direct_run


def record(tmp_path: Path, state: str = "present", user: str = "root", **spec: Any) -> Any:
    """An app as the action plugin sends it, with every host path under tmp_path."""
    given = dict({"name": "blog", "mount": "/blog", "module": "wsgiref.simple_server:demo_app", "state": state}, **spec)
    sites = [{"name": "main", "locations_dir": str(tmp_path / "nginx")},
             {"name": "tools", "locations_dir": str(tmp_path / "nginx" / "sites" / "tools")}]
    [app] = apps_normalize([given], str(tmp_path / "srv"), ".", sites=sites, socket_dir=str(tmp_path / "run"),
                           defaults=DEFAULTS)
    etc = tmp_path / "uwsgi"
    app.update(user=user, uwsgi_ini=str(etc / "available" / "blog.ini"), env_file=str(etc / "available" / "blog.env"),
               uwsgi_enabled=str(etc / "enabled" / "blog.ini"), unit_dropin=str(tmp_path / "unit" / "appmount.conf"))
    app["purge"] = [app["uwsgi_ini"], app["env_file"], str(tmp_path / "unit"), app["home"], str(tmp_path / "run")]
    if state != "absent":
        app["files"] = [{"path": app["uwsgi_ini"], "mode": "0640", "kind": "uwsgi", "group": user,
                         "content": "[uwsgi]\n"},
                        {"path": app["env_file"], "mode": "0640", "kind": "env", "group": user,
                         "content": envfile.render(app["env"])},
                        {"path": app["unit_dropin"], "mode": "0644", "kind": "systemd",
                         "content": "[Service]\nProtectSystem=strict\n"},
                        {"path": app["nginx_conf"], "mode": "0644", "kind": "nginx", "content": "location /blog/ {}\n"}]
        app["links"] = [{"path": app["uwsgi_enabled"], "src": app["uwsgi_ini"], "kind": "uwsgi"},
                        {"path": app["nginx_enabled"], "src": app["nginx_conf"], "kind": "nginx"}]
    for path in (etc / "available", etc / "enabled", tmp_path / "nginx" / "locations-enabled"):
        path.mkdir(parents=True, exist_ok=True)
    return app


@pytest.fixture
def main(capsys: pytest.CaptureFixture[str], module_args: Any) -> Callable[..., dict[str, Any]]:
    """``main(check=False, **args)``: app_deploy.main() with ``args``, its result."""

    def run(check: bool = False, **args: Any) -> dict[str, Any]:
        with module_args(dict({"keep_releases": 3}, **args, _ansible_check_mode=check, _ansible_diff=True)), \
                pytest.raises(SystemExit):
            app_deploy.main()
        result: dict[str, Any] = json.loads(capsys.readouterr().out)
        return result

    return run


def test_check_mode_reports_everything_and_writes_nothing(
        tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any) -> None:
    app = record(tmp_path, user="_blog")
    before = sorted(str(p) for p in tmp_path.rglob("*") if "systemctl" not in str(p))
    result = main(check=True, apps=[app])
    rid = release_id(app, "none")
    assert result["changed"] and result["nginx_changed"]
    assert result["apps"] == {"blog": {"group_created": True, "user_created": True, "built": rid, "switched": rid,
                                       "action": "started"}}
    assert [c.split()[0] for c in systemctl.calls()] == ["show"]
    assert {d["before_header"] for d in result["diff"]} >= {app["uwsgi_ini"], app["nginx_enabled"], app["env_file"],
                                                            app["unit_dropin"]}
    assert sorted(str(p) for p in tmp_path.rglob("*") if "systemctl" not in str(p)) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
def test_a_deploy_is_idempotent_and_an_absent_app_leaves_nothing(tmp_path: Path, main: Callable[..., dict[str, Any]],
                                                                 no_systemd: Any, systemctl: Any) -> None:
    """A real build (a virtualenv, the import test of a standard library callable) as root."""
    app = record(tmp_path)
    rid = release_id(app, "none")
    units = "appmount-app@blog.socket appmount-app@blog.service"
    result = main(apps=[app])
    assert result["changed"] and result["nginx_changed"] and "msg" not in result
    assert result["apps"] == {"blog": {"built": rid, "switched": rid, "release": rid, "action": "started"}}
    assert [c for c in systemctl.calls() if not c.startswith("show")] == ["daemon-reload", f"enable --now {units}"]
    home = Path(app["home"])
    assert os.readlink(home / "current") == f"releases/{rid}" and history(str(home)) == [rid]
    assert os.readlink(app["nginx_enabled"]) == app["nginx_conf"]
    assert os.stat(app["uwsgi_ini"]).st_mode & 0o7777 == 0o640
    assert os.stat(app["data_dir"]).st_mode & 0o7777 == 0o750
    assert envfile.parse(Path(app["env_file"]).read_text()) == app["env"] == no_systemd.envs[-1]
    assert not os.path.exists(app["env_file"] + ".appmount-new")

    before = len(systemctl.calls())
    again = main(apps=[app])
    assert (again["changed"], again["nginx_changed"], again["apps"], again["diff"]) == (
        False, False, {"blog": {"release": rid}}, [])
    assert [c.split()[0] for c in systemctl.calls()[before:]] == ["show"]  # nothing started, restarted or reloaded

    # the app was on the other site before: its location there goes, with the nginx changes of the run
    stale_link, stale_conf = (Path(p) for p in app["nginx_stale"])
    stale_conf.parent.mkdir(parents=True)
    stale_conf.write_text("location /blog/ {}\n")
    stale_link.parent.mkdir(parents=True)
    stale_link.symlink_to(stale_conf)
    moved = main(apps=[app])
    assert moved["changed"] and moved["nginx_changed"] and not os.path.lexists(stale_link)
    assert not os.path.lexists(stale_conf) and os.readlink(app["nginx_enabled"]) == app["nginx_conf"]

    gone = main(apps=[record(tmp_path, state="absent", user=NO_USER)])
    assert gone["changed"] and gone["nginx_changed"] and gone["apps"]["blog"]["action"] == "stopped"
    assert systemctl.calls()[-2:] == ["disable --now appmount-app@blog.service appmount-app@blog.socket",
                                      "daemon-reload"]
    for path in (app["home"], app["uwsgi_ini"], app["uwsgi_enabled"], app["nginx_conf"], app["nginx_enabled"]):
        assert not os.path.lexists(path), path


def test_a_release_whose_code_was_not_sent_stops_the_run_before_any_change(
        tmp_path: Path, main: Callable[..., dict[str, Any]]) -> None:
    """The action plugin's first call: the apps whose code it must send are named, and nothing is done."""
    built = record(tmp_path, source={"path": "/ctl/blog"})
    built["code"]["id"] = "c1"
    rid = release_id(built, "c1")
    (Path(built["home"]) / "releases" / rid).mkdir(parents=True)
    (Path(built["home"]) / "releases" / rid / "code-id").write_text("c1\n")
    missing = dict(built, name="wiki", home=str(tmp_path / "srv" / "wiki"))
    disabled = dict(missing, name="off", state="disabled")
    git = dict(missing, name="git", code={"kind": "git", "repo": "https://example.org/x", "version": "HEAD"})
    result = main(apps=[built, missing, disabled, git])
    assert (result["changed"], result["missing"]) == (False, ["wiki"])
    assert not os.path.exists(missing["home"]) and not os.path.exists(built["uwsgi_ini"])
    assert "missing" not in main(check=True, apps=[built, missing, disabled])  # check mode builds nothing anyway


def test_rollback_of_an_unknown_app_fails(tmp_path: Path, main: Callable[..., dict[str, Any]]) -> None:
    result = main(apps=[record(tmp_path)], rollback="wiki")
    assert (result["failed"], result["msg"]) == (True, "no app named 'wiki' on this host")


def built_releases(tmp_path: Path, *ids: str) -> Any:
    home = tmp_path / "blog"
    for rid in ids:
        (home / "releases" / rid).mkdir(parents=True)
        (home / "releases" / rid / "code-id").write_text("c\n")
    save_history(str(home), list(ids))
    (home / "current").symlink_to(f"releases/{ids[-1]}")
    return {"home": str(home), "name": "blog"}


def test_rollback_walks_back_through_the_history(tmp_path: Path, new_module: Callable[..., Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Units, "refresh", lambda self, apps: None)
    monkeypatch.setattr(Units, "main_pid", lambda self, name: None)
    app = built_releases(tmp_path, "r1", "r2", "r3")
    for expected in ("r2", "r1"):
        deployer = app_deploy.Deployer(new_module())
        deployer.rollback(app)
        assert os.readlink(tmp_path / "blog" / "current") == f"releases/{expected}"
        assert deployer.run.report["blog"] == {"release": expected, "switched": expected, "action": "chain-reloaded"}
    app_deploy.Deployer(new_module()).rollback(app)
    # the release rolled back from first is the oldest now
    assert os.readlink(tmp_path / "blog" / "current") == "releases/r3"


def test_rollback_without_an_older_release_fails(tmp_path: Path, new_module: Callable[..., Any]) -> None:
    app = built_releases(tmp_path, "r1")
    module = new_module()
    with pytest.raises(SystemExit):
        app_deploy.Deployer(module).rollback(app)
    assert module.failed == {"msg": "blog: no previous release to roll back to (kept: ['r1'])"}


def units_now(systemctl: Any, service_active: bool, socket_active: bool) -> None:
    """Put the fake ``systemctl``'s state of blog's enabled units: whether its service and its socket are active."""
    state = {"appmount-app@blog.service": [service_active, True], "appmount-app@blog.socket": [socket_active, True]}
    Path(f"{systemctl.path}.state").write_text(json.dumps(state))


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
def test_an_idle_app_counts_as_up(tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any) -> None:
    """Scaled to zero (idle_timeout): uWSGI exited after its idle time and the socket waits for the next request."""
    app = record(tmp_path, idle_timeout=30)
    rid = release_id(app, "none")
    assert main(apps=[app])["apps"]["blog"]["action"] == "started"
    units_now(systemctl, service_active=False, socket_active=True)
    before = len(systemctl.calls())
    again = main(apps=[app])
    assert (again["changed"], again["apps"], again["diff"]) == (False, {"blog": {"release": rid}}, [])
    assert [c.split()[0] for c in systemctl.calls()[before:]] == ["show"]  # not started: its next request does


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
@pytest.mark.parametrize("awake", [False, True])
def test_an_app_with_idle_timeout_that_switched_release_is_restarted_only_if_awake(
        tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any, awake: bool) -> None:
    """Idle or awake, never chain-reloaded: it may exit at any moment, and a chain reload would wait for workers that
    are gone. ``try-restart`` restarts it if it runs; otherwise its next start reads the new release."""
    main(apps=[record(tmp_path, idle_timeout=30)])
    units_now(systemctl, service_active=awake, socket_active=True)
    app = record(tmp_path, idle_timeout=30, module="wsgiref.util:request_uri")  # new code: a new release
    rid = release_id(app, "none")
    before = len(systemctl.calls())
    result = main(apps=[app])
    assert result["changed"] and result["apps"] == {"blog": {"built": rid, "switched": rid, "release": rid,
                                                             "action": "restarted if awake"}}
    assert [c for c in systemctl.calls()[before:] if not c.startswith("show")] == [
        "try-restart appmount-app@blog.service"]  # neither started nor chain-reloaded
    assert os.readlink(Path(app["home"]) / "current") == f"releases/{rid}"


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
def test_an_idle_app_whose_ini_changed_is_restarted_only_if_awake(
        tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any) -> None:
    main(apps=[record(tmp_path, idle_timeout=30)])
    units_now(systemctl, service_active=False, socket_active=True)
    app = record(tmp_path, idle_timeout=60)
    app["files"][0]["content"] = "[uwsgi]\nidle = 60\ndie-on-idle = true\n"
    before = len(systemctl.calls())
    result = main(apps=[app])
    assert result["changed"] and result["apps"]["blog"]["action"] == "restarted if awake"
    assert [c for c in systemctl.calls()[before:] if not c.startswith("show")] == [
        "try-restart appmount-app@blog.service"]  # not restarted: its next start reads the new ini


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
@pytest.mark.parametrize(("idle_timeout", "socket_active"), [
    pytest.param(0, True, id="always-running-app-whose-service-is-down"),
    pytest.param(30, False, id="idle-timeout-but-socket-down-too"),
])
def test_an_app_that_is_down_is_started(tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any,
                                        idle_timeout: int, socket_active: bool) -> None:
    """Not idle: without idle_timeout an inactive service is down, and an inactive socket answers no request."""
    app = record(tmp_path, idle_timeout=idle_timeout)
    main(apps=[app])
    units_now(systemctl, service_active=False, socket_active=socket_active)
    before = len(systemctl.calls())
    result = main(apps=[app])
    assert result["changed"] and result["apps"]["blog"]["action"] == "started"
    assert [c for c in systemctl.calls()[before:] if not c.startswith("show")] == [
        "enable --now appmount-app@blog.socket appmount-app@blog.service"]


@pytest.mark.skipif(os.geteuid() != 0, reason="files are written root-owned")
def test_the_first_deploy_of_an_app_with_idle_timeout_starts_it(
        tmp_path: Path, main: Callable[..., dict[str, Any]], systemctl: Any) -> None:
    result = main(apps=[record(tmp_path, idle_timeout=30)])
    assert result["changed"] and result["apps"]["blog"]["action"] == "started"
    assert [c for c in systemctl.calls() if not c.startswith("show")] == [
        "daemon-reload", "enable --now appmount-app@blog.socket appmount-app@blog.service"]
