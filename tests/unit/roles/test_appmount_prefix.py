"""The WSGI wrapper that scopes an app's cookies to its mount (roles/apps/files/usr/local/lib/appmount/)."""

from __future__ import annotations

import importlib.util
import sys
import wsgiref.util
import wsgiref.validate
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

WRAPPER = Path(__file__).resolve().parents[3] / "roles/apps/files/usr/local/lib/appmount/appmount_prefix.py"
Headers = list[tuple[str, str]]


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The wrapper module, imported without APPMOUNT_CALLABLE (it then builds no ``application``)."""
    monkeypatch.delenv("APPMOUNT_CALLABLE", raising=False)
    spec = importlib.util.spec_from_file_location("appmount_prefix", WRAPPER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("value", "expected"), [
    ("session=abc; HttpOnly; Path=/", "session=abc; HttpOnly; Path=/blog"),
    ("session=abc; Path=/; HttpOnly", "session=abc; Path=/blog; HttpOnly"),
    ("session=abc; path=/; SameSite=Lax", "session=abc; Path=/blog; SameSite=Lax"),
    ("session=abc;PATH=/;Secure", "session=abc; Path=/blog;Secure"),
    ("session=abc; HttpOnly", "session=abc; HttpOnly; Path=/blog"),
    ("session=abc", "session=abc; Path=/blog"),
    ("session=abc; Path=", "session=abc; Path=/blog"),
    ("session=abc; Path=/blog", "session=abc; Path=/blog"),
    ("session=abc; Path=/blog/admin", "session=abc; Path=/blog/admin"),
    ("session=abc; Path=/admin", "session=abc; Path=/blog/admin"),
    ("session=abc; Path=/blogger", "session=abc; Path=/blog/blogger"),
    ("session=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
     "session=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/blog"),
    ("pathological=Path=/; Path=/", "pathological=Path=/; Path=/blog"),
])
def test_scope_cookie(prefix: ModuleType, value: str, expected: str) -> None:
    assert prefix.scope_cookie(value, "/blog") == expected


def test_a_nested_mount(prefix: ModuleType) -> None:
    assert prefix.scope_cookie("csrftoken=x; Path=/; SameSite=Lax", "/django/site") == (
        "csrftoken=x; Path=/django/site; SameSite=Lax")


def test_only_set_cookie_headers_change_in_any_case(prefix: ModuleType) -> None:
    headers = [("Content-Type", "text/html"), ("Set-Cookie", "a=1; Path=/"), ("set-cookie", "b=2"),
               ("SET-COOKIE", "c=3; Path=/blog/x"), ("X-Path", "Path=/")]
    assert prefix.scope_headers(headers, "/blog") == [
        ("Content-Type", "text/html"), ("Set-Cookie", "a=1; Path=/blog"), ("set-cookie", "b=2; Path=/blog"),
        ("SET-COOKIE", "c=3; Path=/blog/x"), ("X-Path", "Path=/")]


class Streamed:
    """A response body of several chunks that records whether the server closed it."""

    def __init__(self) -> None:
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield b"one "
        yield b"two"

    def close(self) -> None:
        self.closed = True


def call(app: Callable[..., Iterable[bytes]], path: str = "/") -> tuple[str, Headers, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "SCRIPT_NAME": "/blog", "QUERY_STRING": ""}
    wsgiref.util.setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
        seen.update(status=status, headers=headers)
        return lambda data: None

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close:
            close()
    return seen["status"], seen["headers"], data


def test_a_streamed_response_passes_through_untouched(prefix: ModuleType) -> None:
    body = Streamed()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1; Path=/"),
                                  ("Set-Cookie", "b=2; Path=/; HttpOnly")])
        return body

    wrapped = prefix.ScopeCookies(app, "/blog")
    status, headers, data = call(wsgiref.validate.validator(wrapped))
    assert (status, data, body.closed) == ("200 OK", b"one two", True)
    assert [v for k, v in headers if k == "Set-Cookie"] == ["a=1; Path=/blog", "b=2; Path=/blog; HttpOnly"]
    assert wrapped({}, lambda *args: None) is body  # the app's own iterable: streaming and close() unchanged


def test_exc_info_reaches_the_server(prefix: ModuleType) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            start_response("500 Internal Server Error", [("Set-Cookie", "a=1")], sys.exc_info())
        return [b""]

    got: list[Any] = []
    prefix.ScopeCookies(app, "/blog")({}, lambda status, headers, exc_info=None: got.append((headers, exc_info)))
    [(headers, exc_info)] = got
    assert headers == [("Set-Cookie", "a=1; Path=/blog")] and exc_info[0] is RuntimeError


def test_the_module_wraps_the_callable_named_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "someapp.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Set-Cookie', 'session=1; Path=/')])\n"
        "    return [b'hi']\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mount, cookie in (("/tools/ping", "session=1; Path=/tools/ping"), ("/", "session=1; Path=/")):
        monkeypatch.setenv("APPMOUNT_CALLABLE", "someapp:app")
        monkeypatch.setenv("APPMOUNT_MOUNT", mount)
        spec = importlib.util.spec_from_file_location("appmount_prefix_env", WRAPPER)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert call(module.application)[1] == [("Set-Cookie", cookie)]
