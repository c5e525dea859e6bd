"""app_health asks one URL per app and never follows redirects (a loopback server stands in for nginx)."""

from __future__ import annotations

import http.server
import threading
import urllib.request
from collections.abc import Iterator

import pytest

from ansible_collections.appmount.wsgi.plugins.modules.app_health import (
    Endpoint,
    NoRedirect,
    PinnedHTTPSHandler,
    answer_of,
    leaks,
    tls_context,
)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        codes = {"/ok/": 200, "/moved": 301, "/gone/": 404, "/down/": 502, "/cookies/": 302}
        code = codes.get(self.path, 404)
        if self.path == "/site/":  # a second site of nginx: answered only for its name
            code = 200 if self.headers["Host"].split(":")[0] == "site.test" else 404
        self.send_response(code)
        if code == 301:
            self.send_header("Location", "/down/")
        if code == 302:
            self.send_header("Location", "/cookies/next")
            self.send_header("Set-Cookie", "a=1; Path=/cookies")
            self.send_header("Set-Cookie", "b=2; Path=/")
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
    assert answer_of(opener, base_url + path)[0] == status


def test_nothing_listening_is_status_0() -> None:
    opener = urllib.request.build_opener(NoRedirect)
    assert answer_of(opener, "http://127.0.0.1:9/") == (0, [])


def test_headers_of_a_redirect_with_two_cookies(base_url: str) -> None:
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    status, headers = answer_of(opener, base_url + "/cookies/")
    assert status == 302
    assert leaks(headers, "/cookies") == ["Set-Cookie b Path=/"]
    assert leaks(headers, "/") == []


@pytest.mark.parametrize(("headers", "mount", "found"), [
    ([("Location", "/blog/about")], "/blog", []),
    ([("location", "http://example.org/blog/")], "/blog", []),
    ([("Location", "/about")], "/blog", ["Location /about"]),
    ([("Location", "http://example.org/login?next=/blog/")], "/blog", ["Location http://example.org/login?next=/blog/"]),
    ([("Location", "about")], "/blog", []),  # relative: resolved under the request's path
    ([("Location", "/blogger")], "/blog", ["Location /blogger"]),
    ([("Set-Cookie", "session=x; HttpOnly; Path=/blog")], "/blog", []),
    ([("Set-Cookie", "session=x; HttpOnly")], "/blog", []),  # no Path: the request's directory, under the mount
    ([("SET-COOKIE", "csrftoken=y; path=/; SameSite=Lax")], "/django/site", ["Set-Cookie csrftoken Path=/"]),
    ([("Set-Cookie", "a=1; Path=/"), ("Location", "/")], "/", []),
])
def test_leaks(headers: list[tuple[str, str]], mount: str, found: list[str]) -> None:
    assert leaks(headers, mount) == found


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """A loopback HTTPS server with a self-signed certificate for site.test: (port, the certificate's path)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "site.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("site.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], str(cert_path)
    server.shutdown()


@pytest.mark.parametrize(("server_name", "status"), [("site.test", 200), ("other.test", 0)])
def test_https_with_the_site_name_verified_against_its_certificate(
        tls_server: tuple[int, str], server_name: str, status: int) -> None:
    port, cert = tls_server
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}),
                                         PinnedHTTPSHandler(("127.0.0.1", port), tls_context(cert)))
    assert answer_of(opener, f"https://{server_name}:{port}/ok/")[0] == status


@pytest.mark.parametrize(("server_name", "status"), [("site.test", 200), ("", 404), ("other.test", 404)])
def test_a_plain_http_site_is_asked_with_its_name_as_host(base_url: str, server_name: str, status: int) -> None:
    assert Endpoint(base_url, server_name, None).ask("/site/")[0] == status


@pytest.mark.parametrize(("server_name", "status"), [("site.test", 200), ("other.test", 0)])
def test_an_https_site_is_asked_with_its_name_as_sni_and_host(
        tls_server: tuple[int, str], server_name: str, status: int) -> None:
    port, cert = tls_server
    assert Endpoint(f"https://127.0.0.1:{port}", server_name, cert).ask("/site/")[0] == status


def test_the_gate_verifies_as_curl_and_browsers_do(tls_server: tuple[int, str]) -> None:
    """Not with Python 3.13's strict X.509 checks (the https scenario's files site on Debian 13 needs this)."""
    import ssl

    context = tls_context(tls_server[1])
    assert context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert not context.verify_flags & getattr(ssl, "VERIFY_X509_STRICT", 0)
