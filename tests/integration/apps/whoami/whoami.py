"""A test app for the fleet: which host and release answered, and what the app was told about the client."""

from __future__ import annotations

import json
import socket
from typing import Callable, Iterable

RELEASE = "one"


def application(environ: dict, start_response: Callable[..., object]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    body = json.dumps({
        "host": socket.gethostname(),
        "release": RELEASE,
        "method": environ.get("REQUEST_METHOD"),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "url_scheme": environ.get("wsgi.url_scheme"),
        "http_host": environ.get("HTTP_HOST"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "forwarded_host": environ.get("HTTP_X_FORWARDED_HOST"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
