#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask nginx on the host itself for every app's prefix, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_health
short_description: The HTTP status each app answers through nginx on the host itself
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Requests C(BASE_URL + path) of every app from the host itself, without following redirects, in one module run.
  - A deploy gate - fails when a present app still answers 500 or more (or nothing) after I(retries)
    attempts one second apart, or at once when systemd gave up on its unit (C(failed), for example after its start
    limit), with the unit's last log lines.
  - It also fails when a present app's answer leaks out of its prefix - a C(Location) header, or the C(Path) of a
    C(Set-Cookie) header, outside the app's mount - unless the app's C(prefix_check) is false.
options:
  base_url:
    description: Scheme, host and port of nginx as seen from the host, e.g. C(http://127.0.0.1:80).
    type: str
    required: true
  apps:
    description:
      - The apps (records of C(appmount.wsgi.apps_normalize)); each is asked for its C(location). Present apps are
        required to answer below 500; disabled apps are only reported; absent apps are skipped.
    type: list
    elements: dict
    required: true
  server_name:
    description:
      - The name sent as C(Host) (and with an C(https) I(base_url) as SNI, checked against the certificate), while
        the connection goes to I(base_url)'s address (the host's own nginx).
    type: str
  sites:
    description:
      - The nginx role's I(nginx_site_endpoints) - C(name), C(url), C(server_name), C(ca_file) per site. An app whose
        C(site) is not the first site is asked through its site's endpoint; the others through I(base_url),
        I(server_name) and I(ca_file).
    type: list
    elements: dict
    default: []
  ca_file:
    description: With an C(https) I(base_url) - the CA the site's certificate chains to (a self-signed certificate
      itself); the answer counts only when the certificate verifies against it.
    type: path
  retries:
    description: Attempts for a required app before it counts as failing.
    type: int
    default: 15
notes:
  - Only reads; supports check mode.
"""

EXAMPLES = r"""
- name: Check that every app answers
  appmount.wsgi.app_health:
    base_url: http://127.0.0.1:80
    apps:
      - {name: blog, location: /blog/, state: present}
"""

RETURN = r"""
status:
  description: HTTP status per app name (0 when nothing answered).
  type: dict
  returned: always
leaks:
  description: Per app name, what of its answer points outside its mount (C(Location ...), C(Set-Cookie ... Path=...)).
  type: dict
  returned: always
"""

import functools
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import Units


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


Answer = tuple[int, list[tuple[str, str]]]  # status (0: no answer) and headers


def answer_of(opener: urllib.request.OpenerDirector, url: str, host: str = "") -> Answer:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status), list(response.headers.items())
    except urllib.error.HTTPError as err:
        return int(err.code), list(err.headers.items()) if err.headers else []
    except (OSError, ValueError):
        return 0, []


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address`` whatever the URL's host, which stays the SNI, the Host header and the checked name."""

    def __init__(self, host: str, address: tuple[str, int], context: ssl.SSLContext,
                 timeout: float | None = None) -> None:
        super().__init__(host, timeout=timeout, context=context)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection(self.address, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, address: tuple[str, int], context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self.address, self.pinned_context = address, context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        connection = functools.partial(_PinnedHTTPSConnection, address=self.address, context=self.pinned_context)
        return self.do_open(connection, req)


def tls_context(ca_file: str) -> ssl.SSLContext:
    """Verification against ``ca_file`` alone; a leaf in it is a trust anchor (a self-signed certificate).
    Also without OpenSSL's strict checks, which Python 3.13 turns on."""
    context = ssl.create_default_context(cafile=ca_file)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    # Python 3.13 (Debian 13) adds VERIFY_X509_STRICT, which refuses certificates that browsers and curl accept
    # (a private CA's leaf without an Authority Key Identifier): the gate verifies as those clients do
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return context


class Endpoint:
    """How the host's own nginx is asked for one site: the connection goes to ``url``'s address; ``server_name`` is
    sent as ``Host`` (over HTTPS also as SNI, verified against ``ca_file``)."""

    def __init__(self, url: str, server_name: str | None, ca_file: str | None) -> None:
        self.base, self.host = url.rstrip("/"), ""
        handlers: list[urllib.request.BaseHandler] = [NoRedirect(), urllib.request.ProxyHandler({})]
        if self.base.startswith("https://") and server_name:
            target = urllib.parse.urlsplit(self.base)
            handlers.append(PinnedHTTPSHandler((target.hostname or "127.0.0.1", target.port or 443),
                                               tls_context(ca_file or "")))
            self.base = f"https://{server_name}:{target.port or 443}"
        elif server_name:
            self.host = server_name
        self.opener = urllib.request.build_opener(*handlers)

    def ask(self, path: str) -> Answer:
        return answer_of(self.opener, self.base + path, self.host)


# the apps asked at the same time (a thread each): enough to overlap the requests and the apps' cold starts, few
# enough not to start every idle app of a large host at once
ASKING_AT_ONCE = 8


def under(path: str, mount: str) -> bool:
    return mount == "/" or path == mount or path.startswith(mount + "/")


def leaks(headers: list[tuple[str, str]], mount: str) -> list[str]:
    """The headers of an answer that send the browser outside ``mount``."""
    found = []
    for name, value in headers:
        if name.lower() == "location":
            path = urllib.parse.urlsplit(value).path
            if path.startswith("/") and not under(path, mount):
                found.append(f"Location {value}")
        elif name.lower() == "set-cookie":
            for attribute in value.split(";")[1:]:
                key, _sep, path = attribute.partition("=")
                if key.strip().lower() == "path" and not under(path.strip(), mount):
                    found.append(f"Set-Cookie {value.split(';')[0].split('=')[0].strip()} Path={path.strip()}")
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "base_url": {"type": "str", "required": True},
            "apps": {"type": "list", "elements": "dict", "required": True},
            "retries": {"type": "int", "default": 15},
            "server_name": {"type": "str"},
            "ca_file": {"type": "path"},
            "sites": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    first = Endpoint(module.params["base_url"], module.params["server_name"], module.params["ca_file"])
    sites = module.params["sites"]
    endpoints = {str(site["name"]): Endpoint(str(site["url"]), site.get("server_name"), site.get("ca_file"))
                 for site in sites[1:]}
    apps: list[App] = [app for app in module.params["apps"] if app["state"] != "absent"]
    units = Units(Run(module))
    status: dict[str, int] = {}
    leaked: dict[str, list[str]] = {}
    given_up: dict[str, str] = {}  # apps whose unit systemd gave up on: no need to wait for them
    failing: list[str] = []
    for attempt in range(max(1, module.params["retries"])):
        units.refresh([a for a in apps if a["state"] == "present" and a["name"] not in given_up])
        asked = []
        for app in apps:
            reason = units.failure(app["name"]) if app["state"] == "present" else None
            if reason:
                given_up[app["name"]] = reason
                status[app["name"]] = 0
            elif app["name"] not in given_up and (attempt == 0 or app["name"] in failing):
                asked.append(app)
        # ASKING_AT_ONCE apps at a time: idle apps (scale to zero) start side by side, not one after another
        with ThreadPoolExecutor(max_workers=ASKING_AT_ONCE) as pool:
            answers = list(pool.map(lambda a: endpoints.get(str(a.get("site")), first).ask(a["location"]), asked))
        for app, (code, headers) in zip(asked, answers):
            status[app["name"]] = code
            found = leaks(headers, app["mount"]) if app.get("prefix_check", True) else []
            if found:
                leaked[app["name"]] = found
            else:
                leaked.pop(app["name"], None)
        failing = [a["name"] for a in apps if a["state"] == "present" and not 0 < status[a["name"]] < 500]
        if not failing or set(failing) <= set(given_up):
            break
        time.sleep(1)
    leaking = {name: found for name, found in leaked.items() if name not in failing}
    if not failing and not leaking:
        module.exit_json(changed=False, status=status, leaks=leaked)
    problems = []
    if failing:
        summary = ", ".join(f"{name} ({status[name] or 'no answer'})" for name in failing)
        reasons = "".join(f"\n\n{name}: {given_up[name]}" for name in failing if name in given_up)
        problems.append(f"apps not serving through nginx: {summary}; journalctl -u appmount-app@NAME says why"
                        f"{reasons}")
    for name, found in leaking.items():
        problems.append(f"{name}: its answer leaks out of its prefix: {'; '.join(found)} (set its prefix_check "
                        "to false if that is intended)")
    module.fail_json(msg="\n\n".join(problems), status=status, leaks=leaked)


if __name__ == "__main__":
    main()
