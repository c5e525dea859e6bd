#!/usr/bin/env python
"""Bounded HTTP load on loopback: N clients for S seconds against some URLs.

HTTPS URLs are verified against --cafile (the system's CAs without it), with
the URL's host name as SNI. With --stop-file, the clients also stop as soon as that file exists, so that a
test can keep the load up for exactly as long as an event of unknown length
lasts (S stays the bound).

Prints one JSON line: requests, non_2xx (any status outside 200-299 and any
connection error, a timeout included), slowest_ms overall and per path, a
sample of the failures and the wall-clock time (time.time()) at which each
failed request was sent, so that a test can tell the requests in flight at an
event from those sent after it. Standard library only, so it runs inside the test
containers as is.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import threading
import time
from typing import Dict, List, Optional
from urllib.parse import SplitResult, urlsplit

# How long a client waits for a response before counting it as failed. nginx
# itself waits 60 s for uWSGI (uwsgi_read_timeout); while an app reloads its
# uWSGI settings its requests wait in the socket's queue (about 1 s on a quiet
# host, several seconds on 2 busy cores), which is slow, not a failure.
TIMEOUT_S = 30


def connection(url: SplitResult, context: ssl.SSLContext) -> http.client.HTTPConnection:
    if url.scheme == "https":
        return http.client.HTTPSConnection(url.netloc, timeout=TIMEOUT_S, context=context)
    return http.client.HTTPConnection(url.netloc, timeout=TIMEOUT_S)


def client(urls: List[str], until: float, stop_file: Optional[str], context: ssl.SSLContext,
           stats: Dict[str, object], lock: threading.Lock) -> None:
    done, bad, failures, failed_at = 0, 0, [], []
    slowest: Dict[str, float] = {}
    i = 0
    while time.monotonic() < until and not (stop_file and os.path.exists(stop_file)):
        url = urlsplit(urls[i % len(urls)])
        i += 1
        start, sent_at = time.monotonic(), time.time()
        # a new connection per request: a failure is the server's, never a
        # keep-alive connection that a reloading nginx closed between requests
        conn = connection(url, context)
        try:
            conn.request("GET", url.path or "/", headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            status: object = response.status
        except (OSError, http.client.HTTPException) as err:
            status = type(err).__name__
        finally:
            conn.close()
        path = url.path or "/"
        slowest[path] = max(slowest.get(path, 0.0), time.monotonic() - start)
        done += 1
        if not (isinstance(status, int) and 200 <= status < 300):
            bad += 1
            failed_at.append(round(sent_at, 3))
            if len(failures) < 5:
                failures.append(f"{url.path}: {status}")
    with lock:
        stats["requests"] = int(stats["requests"]) + done  # type: ignore[call-overload]
        stats["non_2xx"] = int(stats["non_2xx"]) + bad  # type: ignore[call-overload]
        by_path: Dict[str, float] = stats["slowest_ms_by_path"]  # type: ignore[assignment]
        for path, seconds in slowest.items():
            by_path[path] = round(max(by_path.get(path, 0.0), seconds * 1000), 1)
        stats["failures"] = (list(stats["failures"]) + failures)[:10]  # type: ignore[call-overload]
        stats["failed_at"] = sorted(list(stats["failed_at"]) + failed_at)  # type: ignore[call-overload]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--cafile", help="CA certificates (PEM) that HTTPS URLs are verified against")
    parser.add_argument("urls", nargs="+")
    args = parser.parse_args()
    if not 1 <= args.clients <= 100 or not 0 < args.seconds <= 300:
        parser.error("bounded load only: 1-100 clients, at most 300 s")
    stats: Dict[str, object] = {"requests": 0, "non_2xx": 0, "slowest_ms_by_path": {}, "failures": [], "failed_at": []}
    lock = threading.Lock()
    context = ssl.create_default_context(cafile=args.cafile)
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(args.urls, until, args.stop_file, context, stats, lock)) for _client in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats["slowest_ms"] = max(stats["slowest_ms_by_path"].values(), default=0.0)  # type: ignore[attr-defined]
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
