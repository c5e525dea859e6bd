"""Example WSGI callable without a framework, meant for a nested prefix such as /tools/ping."""

from __future__ import annotations

import json
import os
from typing import Callable, Iterable

StartResponse = Callable[..., object]


def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
    script_name = environ.get("SCRIPT_NAME", "")
    path_info = environ.get("PATH_INFO", "")
    if path_info == "/":
        body, ctype = os.environ.get("PING_REPLY", "pong").encode() + b"\n", "text/plain"
    elif path_info == "/_env":
        body = json.dumps({"app": "ping", "script_name": script_name, "path_info": path_info}).encode()
        ctype = "application/json"
    elif path_info == "/go":
        # a redirect built from SCRIPT_NAME, as any prefix-aware WSGI code does
        start_response("302 Found", [("Location", script_name + "/"), ("Content-Length", "0")])
        return [b""]
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
