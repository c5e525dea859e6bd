"""app_health asks one URL per app and never follows redirects (a loopback server stands in for nginx)."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from ansible_collections.appmount.wsgi.plugins.modules.app_health import NoRedirect, status_of


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        codes = {"/ok/": 200, "/moved": 301, "/gone/": 404, "/down/": 502}
        code = codes.get(self.path, 404)
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/down/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(("path", "status"), [("/ok/", 200), ("/moved", 301), ("/gone/", 404), ("/down/", 502)])
def test_status_of(base_url: str, path: str, status: int) -> None:
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    assert status_of(opener, base_url + path) == status


def test_nothing_listening_is_status_0() -> None:
    opener = urllib.request.build_opener(NoRedirect)
    assert status_of(opener, "http://127.0.0.1:9/") == 0
