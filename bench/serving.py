"""The ways of serving the bench app b1, side by side in one container.

(a) nginx -> uWSGI at the prefix, as deployed by site.yml  http://127.0.0.1:80/b1/
(b) a second uWSGI of the same app on an http socket       http://127.0.0.1:9090/
    extra: the same on an HTTP/1.1 keep-alive socket       http://127.0.0.1:9091/
(c) nginx -> gunicorn (sync workers) on a unix socket      http://127.0.0.1:8081/
(d) the app's static file through nginx                    http://127.0.0.1:80/b1/static/hello.txt
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import wrk
from container import Container

APP = "b1"
URLS = {
    "nginx_uwsgi": f"http://127.0.0.1:80/{APP}/",
    "uwsgi_direct": "http://127.0.0.1:9090/",
    "uwsgi_direct_http11": "http://127.0.0.1:9091/",
    "nginx_gunicorn": "http://127.0.0.1:8081/",
    "static": f"http://127.0.0.1:80/{APP}/static/hello.txt",
}
DEPLOYED_INI = f"/etc/uwsgi/apps-available/{APP}.ini"
DEPLOYED_ENV = f"/etc/uwsgi/apps-available/{APP}.env"


class Direct(NamedTuple):
    """(b) or its keep-alive twin: a hand-started uWSGI instance of b1."""

    ini: str
    pidfile: str
    socket: tuple[str, str]


DIRECT = {
    "uwsgi_direct": Direct("/root/bench-direct.ini", "/run/bench-direct.pid", ("http-socket", "127.0.0.1:9090")),
    "uwsgi_direct_http11": Direct("/root/bench-direct11.ini", "/run/bench-direct11.pid", ("http11-socket", "127.0.0.1:9091")),
}
GUNICORN_VENV = "/opt/bench-gunicorn"
GUNICORN_DIR = "/run/bench-gunicorn"
GUNICORN_CONF = "/etc/nginx/conf.d/bench-gunicorn.conf"
# Options of the deployed ini that only concern its unix socket or its prefix.
# what the direct instances must not share with the deployed one (its unit holds the socket and the FIFO)
SOCKET_OR_MOUNT = {"chown-socket", "chmod-socket", "mount", "manage-script-name", "no-default-app", "socket",
                   "master-fifo"}


def parse_ini(text: str) -> list[tuple[str, str]]:
    """The `key = value` options of a uWSGI ini, in order (keys may repeat, e.g. env)."""
    options: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        options.append((key.strip(), value.strip()))
    return options


def render_ini(options: list[tuple[str, str]]) -> str:
    return "[uwsgi]\n" + "".join(f"{k} = {v}\n" for k, v in options)


def option(options: list[tuple[str, str]], key: str, default: str = "") -> str:
    values = [v for k, v in options if k == key]
    return values[-1] if values else default


def direct_ini(deployed: list[tuple[str, str]], name: str = "uwsgi_direct") -> list[tuple[str, str]]:
    """The deployed options minus socket/mount specifics, on an http socket at 127.0.0.1.

    The deployed app runs as its user in its systemd unit; a direct instance, started by root, drops to
    that user itself (uid, gid), keeps no-orphans and log-date, and daemonizes into a log file.
    An http-socket closes the connection after each response, like the uwsgi
    protocol behind nginx does; `Connection: close` says so, so that wrk
    reconnects instead of counting a read error per request. The http11-socket
    twin keeps connections alive.
    """
    pidfile, socket = DIRECT[name].pidfile, DIRECT[name].socket
    module = option(deployed, "mount").split("=", 1)[-1] or option(deployed, "module")
    kept = [(k, v) for k, v in deployed if k not in SOCKET_OR_MOUNT and k != "plugins"]
    close = [("add-header", "Connection: close")] if socket[0] == "http-socket" else []
    return [
        ("plugins", "python3"),
        socket,
        *close,
        ("module", module),
        ("uid", f"_{APP}"),
        ("gid", f"_{APP}"),
        *kept,
        ("no-orphans", "true"),
        ("log-date", "true"),
        ("pidfile", pidfile),
        ("daemonize", f"/var/log/uwsgi/bench-{name}.log"),
    ]


def gunicorn_site() -> str:
    return f"""# bench only: nginx -> gunicorn over a unix socket
server {{
    listen 127.0.0.1:8081;
    server_name _;
    location / {{
        proxy_pass http://unix:{GUNICORN_DIR}/gunicorn.sock;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
}}
"""


@dataclass
class Serving:
    box: Container

    def prepare(self) -> dict[str, Any]:
        """Install wrk, start (b) and (c), check that every URL answers 200."""
        box = self.box
        box.sh("apt-get install -y -qq wrk >/dev/null", timeout=300)
        deployed = parse_ini(box.read(DEPLOYED_INI))
        processes = int(option(deployed, "processes", "1"))
        user = f"_{APP}"
        code_dir = option(deployed, "chdir")
        for name, direct in DIRECT.items():
            box.write(direct.ini, render_ini(direct_ini(deployed, name)))
            # the app's environment file, as its unit reads it (systemd's and bash's double quotes escape the same
            # four characters): the mount's cookie wrapper finds the app's callable in APPMOUNT_CALLABLE
            box.sh(f"set -a && . {DEPLOYED_ENV} && set +a && uwsgi --ini {direct.ini}")
        box.sh(
            f"python3 -m venv {GUNICORN_VENV} && {GUNICORN_VENV}/bin/pip install -q 'flask>=3,<4' gunicorn"
            f" && install -d -m 0755 -o {user} -g {user} {GUNICORN_DIR}",
            timeout=300,
        )
        box.sh(
            f"{GUNICORN_VENV}/bin/gunicorn --daemon --workers {processes} --worker-class sync"
            f" --bind unix:{GUNICORN_DIR}/gunicorn.sock --pid {GUNICORN_DIR}/pid --user {user} --group {user}"
            f" --chdir {code_dir} app:app"
        )
        box.write(GUNICORN_CONF, gunicorn_site())
        box.sh("nginx -t -q && systemctl reload nginx")
        for url in URLS.values():
            box.wait_ok(url)
        gunicorn_version = box.sh(f"{GUNICORN_VENV}/bin/gunicorn --version").stdout.strip()
        return {
            "processes": processes,
            "deployed_ini": deployed,
            "direct_ini": {name: direct_ini(deployed, name) for name in DIRECT},
            "gunicorn": gunicorn_version,
            "urls": URLS,
            "versions": box.sh("nginx -v 2>&1; uwsgi --version; wrk -v 2>&1 | head -n 1; python3 --version").stdout.split("\n"),
        }

    def measure(self, load: wrk.Load, rounds: int) -> dict[str, dict[str, Any]]:
        """`rounds` interleaved rounds over the four URLs (the host is shared: medians)."""
        samples: dict[str, list[wrk.WrkResult]] = {name: [] for name in URLS}
        for _attempt in range(rounds):
            for name, url in URLS.items():
                samples[name].append(wrk.run(self.box, url, load))
        return {name: wrk.summarize(runs) for name, runs in samples.items()}

    def stop_extras(self) -> None:
        """Stop (b) and (c) so that the tuning runs have the CPU to themselves."""
        stop = "; ".join(f"uwsgi --stop {direct.pidfile}" for direct in DIRECT.values())
        self.box.sh(f"{stop}; kill $(cat {GUNICORN_DIR}/pid); rm -f {GUNICORN_CONF}; systemctl reload nginx", check=False)
