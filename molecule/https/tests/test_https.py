"""HTTPS sites: a self-signed one with HSTS, one with its chain from files, one behind a balancer; apps placed on
them; redirects from plain HTTP, TLS 1.2 and 1.3 only, the apps over HTTPS and what they see of it, bad sites and
apps refused. ACME and removed sites: test_acme.py."""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from appmount_testinfra import get_host, molecule_hosts, molecule_names, playbook
from https_sites import acme_site, certs_dir, https_apps, self_signed_site, site_vars

testinfra_hosts = molecule_hosts()


def curl(host: Any, *args: str) -> str:
    return host.check_output("curl -sS -o /dev/null -D - --max-time 20 " + " ".join(args))


def test_plain_http_redirects_to_https_with_path_and_query(host: Any) -> None:
    head = curl(host, "'http://127.0.0.1/blog/about?x=1&y=2'")
    assert head.startswith("HTTP/1.1 301")
    assert "Location: https://127.0.0.1/blog/about?x=1&y=2" in head


def test_every_app_of_the_first_site_answers_over_https_with_hsts(host: Any, apps: List[Dict[str, Any]]) -> None:
    for app in apps:
        head = curl(host, "-k", f"https://127.0.0.1{app['mount']}/")
        # the apps of the other sites are not this site's: its 404 for paths outside its apps
        assert head.split()[1] == ("404" if "site" in app else "200"), app["name"]
        assert "strict-transport-security: max-age=63072000; includesubdomains" in head.lower()


def test_http2_is_offered(host: Any) -> None:
    assert curl(host, "-k", "--http2", "https://127.0.0.1/notes/").startswith("HTTP/2 200")


def test_http2_uses_the_syntax_of_the_installed_nginx(host: Any) -> None:
    """`http2 on;` from nginx 1.25.1 (Debian 13), `listen ... ssl http2` before (Debian 12): the version the role
    read from the packages query, checked against the nginx binary's own."""
    version = host.run("nginx -v").stderr.strip().split("/")[1].split()[0]
    site = host.file("/etc/nginx/sites-available/appmount.conf").content_string
    if tuple(int(part) for part in version.split(".")) >= (1, 25, 1):
        assert "    http2 on;" in site and " ssl http2" not in site
    else:
        assert " ssl http2" in site and "http2 on;" not in site
    assert "deprecated" not in host.run("nginx -t").stderr


@pytest.mark.parametrize(("version", "accepted"), [("-tls1_1", False), ("-tls1_2", True), ("-tls1_3", True)])
def test_protocols(host: Any, version: str, accepted: bool) -> None:
    out = host.run(f"echo | openssl s_client -connect 127.0.0.1:443 {version} -cipher 'DEFAULT:@SECLEVEL=0' 2>&1")
    if accepted:
        assert out.rc == 0 and "Cipher is" in out.stdout and "Cipher is (NONE)" not in out.stdout
    else:
        assert out.rc != 0 and "alert protocol version" in out.stdout


def test_the_key_is_root_only(host: Any) -> None:
    key = host.file("/etc/ssl/appmount/appmount/privkey.pem")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    assert host.file("/etc/ssl/appmount/appmount").mode == 0o700


def files_ca(host: Any) -> str:
    """The test CA that signed the files site's certificate, on the host (the tests run in any order)."""
    ca = (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ca.crt").read_text()
    host.check_output(f"cat > /root/test-ca.crt <<'EOF'\n{ca}EOF")
    return "/root/test-ca.crt"


def test_the_files_site_serves_its_chain_and_verifies_against_its_ca(host: Any) -> None:
    head = curl(host, f"--cacert {files_ca(host)} --resolve files.test:443:127.0.0.1", "https://files.test/tools/ping/")
    assert head.split()[1] == "200"
    assert "strict-transport-security" not in head.lower()  # HSTS is on for the other site only
    assert host.file("/etc/ssl/appmount/files/privkey.pem").mode == 0o600
    # plain HTTP of this site redirects too, to its own name
    assert "Location: https://files.test/notes/?a=1" in curl(host, "-H 'Host: files.test'", "'http://127.0.0.1/notes/?a=1'")


def test_two_sites_serve_two_apps_at_one_prefix(host: Any) -> None:
    """files-ping on the files site and ping on the ACME site share /tools/ping; each site has its locations."""
    files = host.check_output(f"curl -sS --cacert {files_ca(host)} --resolve files.test:443:127.0.0.1 "
                              "https://files.test/tools/ping/")
    acme = host.check_output(f"curl -sSk --resolve {host.backend.name}.test:443:127.0.0.1 "
                             f"https://{host.backend.name}.test/tools/ping/")
    assert (files, acme) == ("pong from the files site", "pong")
    assert host.file("/etc/nginx/appmount/sites/files/locations-enabled/files-ping.conf").is_symlink
    assert host.file("/etc/nginx/appmount/sites/acme/locations-enabled/ping.conf").is_symlink
    assert not host.file("/etc/nginx/appmount/locations-enabled/ping.conf").exists
    # each site answers 404 outside its apps
    assert curl(host, "-k", "https://127.0.0.1/tools/ping/").split()[1] == "404"
    assert curl(host, "--cacert /root/test-ca.crt --resolve files.test:443:127.0.0.1",
                "https://files.test/blog/").split()[1] == "404"


def test_a_site_behind_a_balancer_serves_its_apps_on_plain_http(host: Any) -> None:
    """behind_balancer: the balancer terminates TLS, so plain HTTP answers with the app, not a 301 to HTTPS."""
    head = curl(host, "-H 'Host: lb.test'", "'http://127.0.0.1/tools/ping/?a=1'")
    assert head.startswith("HTTP/1.1 200"), head
    assert host.check_output("curl -sS -H 'Host: lb.test' http://127.0.0.1/tools/ping/") == "pong behind the balancer"


def test_apps_behind_tls_see_https(host: Any) -> None:
    seen = json.loads(host.check_output("curl -sk https://127.0.0.1/notes/_env"))
    assert (seen["url_scheme"], seen["external"]) == ("https", "https://127.0.0.1/notes/")
    assert json.loads(host.check_output("curl -sk https://127.0.0.1/django/site/_env"))["is_secure"] is True


def test_django_csrf_origin_check_over_https(host: Any) -> None:
    jar = "/tmp/jar-https"
    page = host.check_output(f"curl -sk -c {jar} https://127.0.0.1/django/site/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    post = f"curl -sk -o /dev/null -w '%{{http_code}}' -b {jar} --data 'csrfmiddlewaretoken={token}&text=tls-row'"
    assert host.check_output(post + " -H 'Origin: https://127.0.0.1' https://127.0.0.1/django/site/add") == "302"
    assert host.check_output(post + " -H 'Origin: https://evil.example' https://127.0.0.1/django/site/add") == "403"


REFUSED_SITES = {
    "missing key": ({"source": "files", "cert": "files.crt", "key": "nowhere.key"}, ["files.test"],
                    "nginx_sites[1] (files): tls.key is not a file on the controller"),
    "key of another certificate": ({"source": "files", "cert": "files.crt", "key": "ca.key"}, ["files.test"],
                                   "nginx_sites[1] (files): tls.key does not match tls.cert"),
    "expired certificate": ({"source": "files", "cert": "expired.crt", "key": "expired.key"}, ["files.test"],
                            "nginx_sites[1] (files): tls.cert expired on "),
    "server name of another site": ({"source": "self-signed"}, ["_"],
                                    "nginx_sites[1] (files): server name '_' is already claimed by site 'appmount'"),
    "unknown source": ({"source": "letsencrypt"}, ["files.test"],
                       "nginx_sites[1] (files): tls.source 'letsencrypt' is invalid"),
    "acme without a contact": ({"source": "acme"}, ["files.test"],
                               "nginx_sites[1] (files): tls.email None is not an email address"),
    "acme for a name that is no DNS name": ({"source": "acme", "email": "a@example.test"}, ["files"],
                                            "nginx_sites[1] (files): server_names: 'files' is not a DNS name"),
}


def expired_pair() -> None:
    """A certificate for files.test that expired yesterday, and its key, beside the converge's certificates."""
    cert_path, key_path = certs_dir() / "expired.crt", certs_dir() / "expired.key"
    if cert_path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "files.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.mark.parametrize("case", sorted(REFUSED_SITES))
def test_bad_sites_are_refused_before_any_change(case: str) -> None:
    """On both hosts in one run (no `host` fixture: the test runs once)."""
    tls, names, message = REFUSED_SITES[case]
    expired_pair()
    tls = {k: (str(certs_dir() / v) if k in ("cert", "key") else v) for k, v in tls.items()}
    sites = [self_signed_site(), {"name": "files", "server_names": names, "tls": tls}, acme_site()]
    snapshot = "find /etc/nginx /etc/ssl/appmount /etc/letsencrypt -printf '%p %s %m %T@\\n' | sort | sha256sum"
    before = {n: get_host(n).check_output(snapshot) for n in molecule_names()}
    run = playbook(https_apps(), "-e", site_vars(sites))
    assert run.rc != 0 and message in run.output, run.output[-2000:]
    assert {n: get_host(n).check_output(snapshot) for n in molecule_names()} == before


def test_an_app_on_an_unknown_site_is_refused_before_any_change() -> None:
    """Once, on both hosts: the files site is gone from nginx_sites while an app is still on it."""
    snapshot = "find /etc/nginx /etc/ssl/appmount /srv/appmount -maxdepth 3 -printf '%p %s %m %T@\\n' | sort | sha256sum"
    before = {n: get_host(n).check_output(snapshot) for n in molecule_names()}
    run = playbook(https_apps(), "-e", site_vars([self_signed_site(), acme_site()]))
    message = "(files-ping): site 'files' is not a site of nginx_sites; sites: appmount, acme"
    assert run.rc != 0 and message in run.output, run.output[-2000:]
    assert {n: get_host(n).check_output(snapshot) for n in molecule_names()} == before
