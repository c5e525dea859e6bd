"""A test app that imports fine (the release's import test passes) but dies at every start under uWSGI."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable

try:
    import uwsgi  # noqa: F401  # only importable inside uWSGI
except ImportError:
    uwsgi = None

if uwsgi is not None:
    raise RuntimeError("this app dies at every start under uWSGI")


def application(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never served\n"]
