"""The example apps answer at their prefixes, with Debian's layout, on Debian 12 and 13."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Dict, List

import pytest
import yaml
from appmount_testinfra import (
    DJANGO,
    PROJECT,
    csrf_token,
    django_login,
    http,
    in_journal,
    journal,
    logged,
    main_pid,
    molecule_hosts,
)

testinfra_hosts = molecule_hosts()

CONTENT = {"blog": "The blog", "notes": "<h1>Notes</h1>", "ping": "pong", "django": "<h1>Guest book</h1>"}
EXPOSURE_MAX = 2.5  # systemd-analyze security's overall exposure, 0 (locked down) to 10


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


def test_a_forged_x_forwarded_proto_is_not_believed(host: Any) -> None:
    """uWSGI takes wsgi.url_scheme from X-Forwarded-Proto: nginx sends its own scheme in its place."""
    forged = "curl -sS --max-time 20 -H 'X-Forwarded-Proto: https' http://127.0.0.1"
    assert json.loads(host.check_output(f"{forged}/notes/_env"))["url_scheme"] == "http"
    assert json.loads(host.check_output(f"{forged}/django/site/_env"))["is_secure"] is False


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
    assert in_journal(host, "blog", f"missing-{probe}-app")
    assert f"missing-{probe}.css" not in journal(host, "blog")


def test_uwsgi_logs_every_request_only_where_asked(host: Any) -> None:
    probe = uuid.uuid4().hex
    # blog keeps apps_default_request_log (false): its 200s are in nginx's access log only
    assert http(host, f"/blog/about?probe={probe}").status == 200
    # notes sets request_log: true (examples/apps.yml)
    assert http(host, f"/notes/?probe={probe}").status == 200
    assert in_journal(host, "notes", probe)
    assert logged(host, "/var/log/nginx/access.log", f"/blog/about?probe={probe}")
    assert probe not in journal(host, "blog")


@pytest.mark.parametrize(("path", "cookies"), [
    ("/blog/", {"session": "/blog"}), ("/notes/", {"session": "/notes"}), (f"{DJANGO}/", {"sessionid": DJANGO, "csrftoken": DJANGO}),
    (f"{DJANGO}/admin/login/", {"csrftoken": DJANGO})])
def test_cookies_reach_the_browser_scoped_to_the_mount(host: Any, path: str, cookies: Dict[str, str]) -> None:
    """Neither the Flask examples nor the Django one set a cookie path: Flask and Django send Path=/."""
    assert http(host, path).cookie_paths() == cookies


def test_session_cookies_of_two_apps_do_not_collide(host: Any) -> None:
    jar = f"/tmp/jar-{uuid.uuid4().hex}"
    for visit in (1, 2, 3):
        assert f'<span id="visits">{visit}</span>' in http(host, "/blog/", jar=jar).body
        assert f'<span id="visits">{visit}</span>' in http(host, "/notes/", jar=jar).body
    host.run(f"rm -f {jar}")


def test_django_admin_login_page_and_its_css_under_the_prefix(host: Any) -> None:
    page = http(host, f"{DJANGO}/admin/login/")
    assert page.status == 200 and "Log in" in page.body
    css = f"{DJANGO}/static/admin/css/base.css"
    assert f'href="{css}"' in page.body
    style = http(host, css)
    assert style.status == 200 and style.headers["content-type"] == "text/css"
    # nginx serves it from the release being served; collectstatic ran as a hook, and the files are root's now
    path = host.file("/srv/appmount/django/current/static/admin/css/base.css")
    assert (path.user, path.group, path.mode) == ("root", "root", 0o644)
    assert host.file("/srv/appmount/django/current/static").user == "root"
    assert logged(host, "/var/log/nginx/access.log", css)
    assert css not in journal(host, "django")


def test_django_login_with_csrf_and_a_form_post_that_stores_a_row(host: Any) -> None:
    jar = f"/tmp/jar-{uuid.uuid4().hex}"
    django_login(host, jar)
    assert "Site administration" in http(host, f"{DJANGO}/admin/", jar=jar).body
    text = f"row-{uuid.uuid4().hex[:8]}"
    token = csrf_token(http(host, f"{DJANGO}/", jar=jar).body)
    added = http(host, f"{DJANGO}/add", "POST", data=f"csrfmiddlewaretoken={token}&text={text}", jar=jar)
    assert (added.status, added.headers["location"]) == (302, f"{DJANGO}/")
    assert f"<li>{text}</li>" in http(host, f"{DJANGO}/").body
    assert http(host, f"{DJANGO}/add", "POST", data="text=forged").status == 403  # no CSRF token
    assert "forged" not in http(host, f"{DJANGO}/").body
    host.run(f"rm -f {jar}")


def test_the_django_session_survives_the_flask_sessions(host: Any) -> None:
    jar = f"/tmp/jar-{uuid.uuid4().hex}"
    django_login(host, jar)
    for visit in (1, 2):
        assert f'<span id="visits">{visit}</span>' in http(host, "/blog/", jar=jar).body
        assert f'<span id="visits">{visit}</span>' in http(host, "/notes/", jar=jar).body
    assert "Site administration" in http(host, f"{DJANGO}/admin/", jar=jar).body
    paths = {line.split("\t")[2] for line in host.file(jar).content_string.splitlines() if line.count("\t") >= 6}
    assert paths == {"/blog", "/notes", DJANGO}
    host.run(f"rm -f {jar}")


def test_each_app_runs_as_its_own_user(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        user = "_" + app["name"]
        master = main_pid(host, app["name"])
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
        # uWSGI runs as the app's user and reads its ini itself; the environment file is read by systemd
        for path in (f"/etc/uwsgi/apps-available/{name}.ini", f"/etc/uwsgi/apps-available/{name}.env"):
            available = host.file(path)
            assert (available.user, available.group, available.mode) == ("root", f"_{name}", 0o640)
        config = host.file(f"/etc/uwsgi/apps-available/{name}.ini").content_string
        # the cookie wrapper is mounted, and imports the app's callable named in the environment file
        for line in ("plugins = python3", f"mount = {app['mount']}=appmount_prefix:application",
                     "pythonpath = /usr/local/lib/appmount", "manage-script-name = true",
                     "no-default-app = true", "lazy-apps = true", "listen = 1024",
                     f"master-fifo = /run/appmount/{name}/fifo", f"threads = {app.get('threads', 4)}"):
            assert line in config.splitlines()
        # values live in the environment file only, where uWSGI's ini parser cannot expand them
        assert not [line for line in config.splitlines() if line.replace(" ", "").startswith("env=")]
        env = host.file(f"/etc/uwsgi/apps-available/{name}.env").content_string
        assert f'APPMOUNT_MOUNT="{app["mount"]}"' in env and f'APPMOUNT_CALLABLE="{app["module"]}"' in env


def test_venvs_use_the_system_python3(host: Any, apps: List[Dict[str, Any]]) -> None:
    system = host.check_output("readlink -f /usr/bin/python3")
    for app in apps:
        venv = f"/srv/appmount/{app['name']}/current/venv"
        assert host.check_output(f"readlink -f {venv}/bin/python") == system
        assert "home = /usr/bin" in host.file(f"{venv}/pyvenv.cfg").content_string


def test_releases_are_built_with_uv_whose_cache_the_apps_share(host: Any) -> None:
    """The default installer: uv, installed once on the host. The packages of a venv are hard links into uv's
    cache, which keeps them for the next release and the next app (two first builds at the same time may each
    fetch a package: each venv links to a copy of its own then)."""
    version = yaml.safe_load((PROJECT / "roles/apps/defaults/main.yml").read_text())["apps_uv_version"]
    uv = host.file(f"/srv/appmount/.uv/uv-{version}/bin/uv")
    assert uv.is_file and uv.mode & 0o111
    for name in ("blog", "notes"):
        assert f"uv = {version}" in host.file(f"/srv/appmount/{name}/current/venv/pyvenv.cfg").content_string.splitlines()
        flask = host.check_output(f"ls /srv/appmount/{name}/current/venv/lib/python3*/site-packages/flask/app.py")
        inode = host.check_output(f"stat -c %i {flask}")
        assert host.check_output(f"find /srv/appmount/.uv/cache -inum {inode} -print -quit")
        # compiled as pip compiles: the app's user cannot write __pycache__ into root's release
        assert host.run(f"ls {flask.rsplit('/', 1)[0]}/__pycache__/app.cpython-*.pyc").rc == 0


def test_nginx_configuration_is_valid(host: Any) -> None:
    assert host.run("nginx -t").rc == 0
    assert host.service("nginx").is_running


def test_extra_ca_certificates_are_trusted(host: Any) -> None:
    installed = host.file("/usr/local/share/ca-certificates/appmount-test-ca.crt")
    assert installed.mode == 0o644
    pem = installed.content_string.strip()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert pem in host.file("/etc/ssl/certs/ca-certificates.crt").content_string


def test_each_app_is_a_systemd_service_on_a_socket_systemd_holds(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        name = app["name"]
        unit = f"appmount-app@{name}"
        show = dict(line.split("=", 1) for line in host.check_output(
            f"systemctl show {unit}.service -p ActiveState,UnitFileState,Type,NotifyAccess,Restart,User,"
            "ControlGroup,MainPID,TriggeredBy").splitlines())
        assert (show["ActiveState"], show["UnitFileState"], show["Type"], show["NotifyAccess"], show["Restart"],
                show["User"]) == ("active", "enabled", "notify", "main", "on-failure", f"_{name}")
        assert show["TriggeredBy"] == f"{unit}.socket"
        # every uWSGI process of the app is in its unit's cgroup
        for pid in host.check_output(f"pgrep -u _{name}").split():
            assert f"/{unit}.service" in host.file(f"/proc/{pid}/cgroup").content_string
        socket = dict(line.split("=", 1) for line in host.check_output(
            f"systemctl show {unit}.socket -p ActiveState,UnitFileState,Listen,Backlog").splitlines())
        assert socket == {"ActiveState": "active", "UnitFileState": "enabled", "Backlog": "1024",
                          "Listen": f"/run/uwsgi/app/{name}/socket (Stream)"}


def test_debian_init_script_is_masked_and_the_watchdog_gone(host: Any) -> None:
    assert host.check_output("systemctl is-enabled uwsgi.service || true") == "masked"
    for path in ("/etc/systemd/system/appmount-uwsgi-watchdog.service", "/usr/local/sbin/appmount-uwsgi-watchdog",
                 "/run/lock/appmount-uwsgi.lock"):
        assert not host.file(path).exists


def test_apps_log_to_the_journal_only(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        assert "WSGI app 0" in journal(host, app["name"])
        assert not host.file(f"/var/log/uwsgi/app/{app['name']}.log").exists


def test_every_unit_is_sandboxed(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        out = host.check_output(f"systemd-analyze security --no-pager appmount-app@{app['name']}.service")
        score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", out).group(1))
        print(f"\nEXPOSURE {host.backend.name} appmount-app@{app['name']}.service: {score}")
        assert score <= EXPOSURE_MAX, out
