"""uWSGI and nginx tuning experiments on nginx -> uWSGI (app b1), inside the bench container only.

Each variant starts from the deployed files (b1's ini, nginx.conf, b1's nginx
location), changes a few options, restarts b1's uWSGI instance and reloads
nginx, checks for a 200, then runs the same bounded wrk load. The files are
restored at the end.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import wrk
from container import BenchError, Container
from serving import APP, DEPLOYED_INI, URLS

NGINX_CONF = "/etc/nginx/nginx.conf"


@dataclass(frozen=True)
class Variant:
    name: str
    # uWSGI ini options to set (None removes the option)
    uwsgi: dict[str, str | None] = field(default_factory=dict)
    # nginx.conf directives to replace: worker_processes, worker_connections, access_log
    nginx: dict[str, str] = field(default_factory=dict)
    # extra directives inside b1's uwsgi_pass location
    location: tuple[str, ...] = ()


# The baseline is what site.yml deploys (processes 2, threads 4, listen 1024,
# enable-threads, lazy-apps, buffer-size 32768, single-interpreter, uWSGI logging
# only 4xx/5xx responses) and Debian's nginx.conf: worker_processes auto (2 here),
# worker_connections 768, access_log unbuffered, uwsgi_buffering on.
REQUEST_LOG_ON = {"disable-logging": None, "log-4xx": None, "log-5xx": None}
VARIANTS: tuple[Variant, ...] = (
    Variant("baseline (deployed defaults)"),
    # processes x threads are set explicitly: the baseline is whatever the role deploys
    Variant("uwsgi 1 process x 1 thread", uwsgi={"processes": "1", "threads": None}),
    Variant("uwsgi 2 processes x 1 thread", uwsgi={"processes": "2", "threads": None}),
    Variant("uwsgi 4 processes x 1 thread", uwsgi={"processes": "4", "threads": None}),
    Variant("uwsgi 2 processes x 2 threads", uwsgi={"processes": "2", "threads": "2"}),
    Variant("uwsgi listen=128", uwsgi={"listen": "128"}),
    Variant("uwsgi listen=4096", uwsgi={"listen": "4096"}),
    Variant("uwsgi thunder-lock", uwsgi={"thunder-lock": "true"}),
    Variant("uwsgi offload-threads=1", uwsgi={"offload-threads": "1"}),
    Variant("uwsgi request log on (request_log: true)", uwsgi=REQUEST_LOG_ON),
    Variant("nginx uwsgi_buffering off", location=("uwsgi_buffering off;",)),
    Variant("nginx worker_processes 1", nginx={"worker_processes": "1"}),
    Variant("nginx worker_connections 4096", nginx={"worker_connections": "4096"}),
    Variant("nginx access_log off", nginx={"access_log": "off"}),
    Variant("nginx access_log buffer=64k", nginx={"access_log": "/var/log/nginx/access.log combined buffer=64k flush=1s"}),
)


def set_ini_options(text: str, changes: dict[str, str | None]) -> str:
    lines = [line for line in text.splitlines() if line.split("=", 1)[0].strip() not in changes]
    lines += [f"{key} = {value}" for key, value in changes.items() if value is not None]
    return "\n".join(lines) + "\n"


def set_nginx_directives(text: str, changes: dict[str, str]) -> str:
    for directive, value in changes.items():
        text, count = re.subn(rf"^(\s*){directive}\s+[^;]*;", rf"\g<1>{directive} {value};", text, flags=re.MULTILINE)
        if count == 0:
            raise BenchError(f"{directive} not found in {NGINX_CONF}")
    return text


def add_location_directives(text: str, directives: tuple[str, ...]) -> str:
    if not directives:
        return text
    text, count = re.subn(r"^(\s*)(uwsgi_pass\s[^;]*;)", lambda m: m.group(0) + "".join(f"\n{m.group(1)}{d}" for d in directives), text, flags=re.MULTILINE)
    if count == 0:
        raise BenchError("no uwsgi_pass in b1's nginx location")
    return text


@dataclass
class Tuning:
    box: Container

    def run(self, load: wrk.Load, rounds: int, variants: tuple[Variant, ...] = VARIANTS) -> list[dict[str, Any]]:
        """Every variant once per round, the order rotated each round; medians per variant."""
        box = self.box
        location_file = box.sh(f"readlink -f $(grep -Rl 'uwsgi_pass unix:.*/{APP}/' /etc/nginx/appmount/locations-enabled/ | head -n 1)").stdout.strip()
        originals = {path: box.read(path) for path in (DEPLOYED_INI, NGINX_CONF, location_file)}
        samples: dict[str, list[wrk.WrkResult]] = {v.name: [] for v in variants}
        applied = dict(originals)
        try:
            for r in range(rounds):
                shift = r * len(variants) // max(rounds, 1)
                for variant in variants[shift:] + variants[:shift]:
                    wanted = {
                        DEPLOYED_INI: set_ini_options(originals[DEPLOYED_INI], variant.uwsgi),
                        NGINX_CONF: set_nginx_directives(originals[NGINX_CONF], variant.nginx),
                        location_file: add_location_directives(originals[location_file], variant.location),
                    }
                    self._apply(wanted, applied)
                    result = wrk.run(box, URLS["nginx_uwsgi"], load)
                    samples[variant.name].append(result)
                    print(
                        f"  round {r + 1}/{rounds} {variant.name:<58} {result.rps:>7.0f} req/s  p99 {result.p99_ms:7.2f} ms"
                        f"  {result.server_cpu_us_per_req:5.0f} us/req  err {result.errors}  load {result.host_load1}",
                        flush=True,
                    )
        finally:
            self._apply(originals, applied)
        return [
            {"variant": v.name, "uwsgi": v.uwsgi, "nginx": v.nginx, "location": list(v.location)} | wrk.summarize(samples[v.name])
            for v in variants
            if samples[v.name]
        ]

    def _apply(self, wanted: dict[str, str], applied: dict[str, str]) -> None:
        """Write the files that differ; restart b1's uWSGI if its ini changed, reload nginx if its files did."""
        changed = [path for path, text in wanted.items() if applied.get(path) != text]
        if not changed:
            return
        for path in changed:
            self.box.write(path, wanted[path])
            applied[path] = wanted[path]
        if DEPLOYED_INI in changed:
            # the variants restart b1 every few seconds, more often than its unit's start limit allows (5 starts
            # in 60 s): reset-failed also resets that count
            self.box.sh(f"systemctl reset-failed appmount-app@{APP}.service; systemctl restart appmount-app@{APP}.service")
        if any(path != DEPLOYED_INI for path in changed):
            self.box.sh("nginx -t -q && systemctl reload nginx")
        time.sleep(1.0)  # old nginx workers finish, new uWSGI workers import the app
        self.box.wait_ok(URLS["nginx_uwsgi"])
