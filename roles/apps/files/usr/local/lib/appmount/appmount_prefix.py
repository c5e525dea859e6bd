# Installed by appmount.wsgi (roles/apps/files/usr/local/lib/appmount/appmount_prefix.py); changes are overwritten.
"""The WSGI wrapper appmount.wsgi mounts in front of an app served under a URL prefix.

uWSGI mounts ``appmount_prefix:application`` at the app's prefix; it imports the app's own
callable (``APPMOUNT_CALLABLE``, ``module:callable``) and scopes the cookies the app sets to
its mount (``APPMOUNT_MOUNT``), so that apps on one host keep their own sessions without code
changes: Flask and Django set their session and CSRF cookies with ``Path=/``.

Only the ``Path`` attribute of ``Set-Cookie`` headers changes:

- no ``Path``, an empty one or ``Path=/``: ``Path=MOUNT``;
- a path already under the mount (``MOUNT`` or ``MOUNT/...``): left as it is;
- any other absolute path is one of the app's own URLs (the app sees the prefix as its root):
  ``MOUNT`` + path, as nginx's ``proxy_cookie_path`` would write it.

The response body is passed through untouched (the app's iterable itself, so streaming, ``close()``
and ``wsgi.file_wrapper`` work as without the wrapper). Standard library only; Python 3.9+.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable, Iterable, List, Optional, Tuple

Headers = List[Tuple[str, str]]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


def scoped_path(path: str, mount: str) -> str:
    """The cookie path the browser gets for ``path`` (as the app wrote it) under ``mount``."""
    if not path.startswith("/") or path == "/":
        return mount
    if path == mount or path.startswith(mount + "/"):
        return path
    return mount + path


def scope_cookie(value: str, mount: str) -> str:
    """A ``Set-Cookie`` header value with its ``Path`` attribute scoped to ``mount``; unchanged if it already is."""
    name_value, *attributes = value.split(";")
    found = False
    for i, attribute in enumerate(attributes):
        key, sep, path = attribute.partition("=")
        if key.strip().lower() != "path":
            continue
        found = True
        wanted = scoped_path(path.strip() if sep else "", mount)
        if wanted != path.strip():
            attributes[i] = f" Path={wanted}"
    if not found:
        attributes.append(f" Path={mount}")
    return ";".join([name_value, *attributes])


def scope_headers(headers: Headers, mount: str) -> Headers:
    """Every ``Set-Cookie`` header of a response scoped to ``mount`` (header names in any case)."""
    return [(name, scope_cookie(value, mount) if name.lower() == "set-cookie" else value) for name, value in headers]


class ScopeCookies:
    """WSGI middleware: the app, with the paths of the cookies it sets scoped to ``mount``."""

    def __init__(self, app: WSGIApp, mount: str) -> None:
        self.app = app
        self.mount = mount

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: Headers, exc_info: Optional[Any] = None) -> Any:
            headers = scope_headers(headers, self.mount)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def load(target: str) -> WSGIApp:
    """The callable named ``module:callable``."""
    module, _sep, attribute = target.partition(":")
    app: WSGIApp = getattr(importlib.import_module(module), attribute)
    return app


def _application() -> WSGIApp:
    app = load(os.environ["APPMOUNT_CALLABLE"])
    mount = os.environ.get("APPMOUNT_MOUNT", "/")
    return app if mount == "/" else ScopeCookies(app, mount)


if os.environ.get("APPMOUNT_CALLABLE"):
    application = _application()
