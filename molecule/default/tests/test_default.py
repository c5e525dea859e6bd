"""The example apps answer at their prefixes, with Debian's layout, on Debian 12 and 13."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
from appmount_testinfra import http, logged, molecule_hosts

testinfra_hosts = molecule_hosts()

CONTENT = {"blog": "The blog", "notes": "<h1>Notes</h1>", "ping": "pong"}
BLOG_LOG = "/var/log/uwsgi/app/blog.log"


def test_every_app_answers_at_its_prefix(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        response = http(host, app["mount"] + "/")
        assert response.status == 200, app["name"]
        assert CONTENT[app["name"]] in response.body


def test_bare_prefix_redirects_to_the_slash(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        response = http(host, app["mount"] + "?x=1")
        assert response.status == 301
        assert response.headers["location"] == app["mount"] + "/?x=1"


@pytest.mark.parametrize("path", ["/blogx/", "/blogx", "/notesy/", "/tools/pingpong/", "/tools/", "/nope", "/"])
def test_other_paths_get_nginx_404(host: Any, path: str) -> None:
    response = http(host, path)
    assert response.status == 404
    assert "<center>nginx</center>" in response.body
    assert response.headers["server"] == "nginx"  # server_tokens off: no version


def test_script_name_is_the_prefix(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        seen = http(host, app["mount"] + "/_env").json()
        assert seen["app"] == app["name"]
        assert seen["script_name"] == app["mount"]
        assert seen["path_info"] == "/_env"


def test_redirects_and_links_carry_the_prefix(host: Any) -> None:
    assert http(host, "/blog/go").headers["location"] == "/blog/about"
    assert http(host, "/tools/ping/go").headers["location"] == "/tools/ping/"
    page = http(host, "/blog/").body
    assert 'href="/blog/static/style.css"' in page
    assert 'href="/blog/about"' in page
    assert 'action="/blog/add"' in page


def test_post_form_redirects_under_the_prefix(host: Any) -> None:
    title = f"post-{uuid.uuid4().hex[:8]}"
    response = http(host, "/blog/add", method="POST", data=f"title={title}")
    assert response.status == 302
    assert response.headers["location"] == "/blog/"
    assert f"<li>{title}</li>" in http(host, "/blog/").body


def test_static_files_are_served_by_nginx_alone(host: Any) -> None:
    response = http(host, "/blog/static/style.css")
    assert response.status == 200
    assert "served by nginx" in response.body
    # a missing static file is nginx's 404; had the request reached the app,
    # uWSGI would have logged it (it logs every 4xx), as it does the second one
    probe = uuid.uuid4().hex
    assert http(host, f"/blog/static/missing-{probe}.css").status == 404
    assert http(host, f"/blog/missing-{probe}-app").status == 404
    assert logged(host, BLOG_LOG, f"missing-{probe}-app")
    assert f"missing-{probe}.css" not in host.file(BLOG_LOG).content_string


def test_uwsgi_logs_every_request_only_where_asked(host: Any) -> None:
    probe = uuid.uuid4().hex
    # blog keeps apps_default_request_log (false): its 200s are in nginx's access log only
    assert http(host, f"/blog/about?probe={probe}").status == 200
    # notes sets request_log: true (examples/apps.yml)
    assert http(host, f"/notes/?probe={probe}").status == 200
    assert logged(host, "/var/log/uwsgi/app/notes.log", probe)
    assert logged(host, "/var/log/nginx/access.log", f"/blog/about?probe={probe}")
    assert probe not in host.file(BLOG_LOG).content_string


def test_session_cookies_of_two_apps_do_not_collide(host: Any) -> None:
    jar = f"/tmp/jar-{uuid.uuid4().hex}"
    for visit in (1, 2, 3):
        assert f'<span id="visits">{visit}</span>' in http(host, "/blog/", jar=jar).body
        assert f'<span id="visits">{visit}</span>' in http(host, "/notes/", jar=jar).body
    host.run(f"rm -f {jar}")


def test_each_app_runs_as_its_own_user(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        user = "_" + app["name"]
        master = host.file(f"/run/uwsgi/app/{app['name']}/pid").content_string.strip()
        users = host.check_output(f"ps -o user= --pid {master} --ppid {master}").split()
        assert len(users) == 1 + app.get("processes", 2)
        assert set(users) == {user}
        assert host.user(user).shell == "/usr/sbin/nologin"


def test_sockets_are_660_and_usable_by_nginx(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        socket = host.file(f"/run/uwsgi/app/{app['name']}/socket")
        assert socket.is_socket
        assert socket.mode == 0o660
        assert socket.user == "_" + app["name"]
        assert socket.group == "www-data"
        connect = f"import socket; socket.socket(socket.AF_UNIX).connect({socket.path!r})"
        assert host.run(f"runuser -u www-data -- python3 -c \"{connect}\"").rc == 0
        assert host.run(f"runuser -u nobody -- python3 -c \"{connect}\"").rc != 0


def test_debian_layout(host: Any, apps: List[Dict[str, Any]]) -> None:
    site = host.file("/etc/nginx/sites-enabled/appmount.conf")
    assert site.is_symlink and site.linked_to == "/etc/nginx/sites-available/appmount.conf"
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    for app in apps:
        name = app["name"]
        ini = host.file(f"/etc/uwsgi/apps-enabled/{name}.ini")
        assert ini.is_symlink and ini.linked_to == f"/etc/uwsgi/apps-available/{name}.ini"
        location = host.file(f"/etc/nginx/appmount/locations-enabled/{name}.conf")
        assert location.linked_to == f"/etc/nginx/appmount/locations-available/{name}.conf"
        available = host.file(f"/etc/uwsgi/apps-available/{name}.ini")
        # the app's group reads it: a graceful reload re-executes uWSGI after it dropped root
        assert (available.user, available.group, available.mode) == ("root", f"_{name}", 0o640)
        config = available.content_string
        for line in ("plugins = python3", f"mount = {app['mount']}={app['module']}", "manage-script-name = true",
                     "no-default-app = true", "lazy-apps = true", "listen = 1024", f"uid = _{name}",
                     f"threads = {app.get('threads', 4)}"):
            assert line in config.splitlines()


def test_venvs_use_the_system_python3(host: Any, apps: List[Dict[str, Any]]) -> None:
    system = host.check_output("readlink -f /usr/bin/python3")
    for app in apps:
        venv = f"/srv/appmount/{app['name']}/current/venv"
        assert host.check_output(f"readlink -f {venv}/bin/python") == system
        assert "home = /usr/bin" in host.file(f"{venv}/pyvenv.cfg").content_string


def test_nginx_configuration_is_valid(host: Any) -> None:
    assert host.run("nginx -t").rc == 0
    assert host.service("nginx").is_running
    assert host.service("uwsgi").is_enabled


def test_extra_ca_certificates_are_trusted(host: Any) -> None:
    installed = host.file("/usr/local/share/ca-certificates/appmount-test-ca.crt")
    assert installed.mode == 0o644
    pem = installed.content_string.strip()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert pem in host.file("/etc/ssl/certs/ca-certificates.crt").content_string


def test_watchdog_rounds_run_no_process_while_every_app_runs(host: Any) -> None:
    # only `sleep` and `flock` (once per round) on its PATH: a round that ran
    # basename, cat or grep per app would say "not found"
    host.run_test("install -d /tmp/watchdog-path && ln -sf /bin/sleep /usr/bin/flock /tmp/watchdog-path/")
    script = "/usr/local/sbin/appmount-uwsgi-watchdog"
    run = host.run(f"timeout 7 env PATH=/tmp/watchdog-path /bin/sh {script}")
    assert run.rc == 124, run.stderr  # still looping when timeout stopped it, after 3 rounds
    assert (run.stdout, run.stderr) == ("", "")
