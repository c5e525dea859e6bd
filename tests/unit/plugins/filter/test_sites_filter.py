"""Unit tests of plugins/filter/sites.py: what ``nginx_sites`` may not be, each refusal naming site and field."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.appmount.wsgi.plugins.filter.sites import (
    acme_failure,
    certificate_problem,
    nginx_restores,
    proxies_errors,
    site_endpoints,
    sites_errors,
    sites_with_defaults,
)

NOW = datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc)


def pem_pair(days: int = 90, name: str = "example.org") -> tuple[str, str]:
    """A self-signed certificate valid from yesterday for ``days`` days, and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


CERT, KEY = pem_pair()
OTHER_CERT, OTHER_KEY = pem_pair()
OLD_CERT, OLD_KEY = pem_pair(days=-1)
SMALL_RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
FILES: dict[str, str | None] = {"small.key": SMALL_RSA, "ok.crt": CERT, "ok.key": KEY,
                                "other.key": OTHER_KEY, "old.crt": OLD_CERT,
                                "old.key": OLD_KEY, "junk.crt": "not a certificate", "missing.key": None}


def site(**overrides: Any) -> dict[str, Any]:
    return {"name": "main", "server_names": ["example.org"], **overrides}


def files_tls(cert: str, key: str) -> dict[str, Any]:
    return {"tls": {"source": "files", "cert": cert, "key": key}}


@pytest.mark.parametrize(("sites", "message"), [
    ([site(name="Main")], "nginx_sites[0] (Main): name 'Main' is invalid"),
    ([site(server_names=[])], "nginx_sites[0] (main): server_names must be a non-empty list"),
    ([site(server_names=["exa mple.org"])], "nginx_sites[0] (main): server_names: 'exa mple.org' is not a host"),
    ([site(), site(name="tools", server_names=["tools.example.org", "example.org"])],
     "nginx_sites[1] (tools): server name 'example.org' is already claimed by site 'main'"),
    ([site(tls={"source": "letsencrypt"})], "nginx_sites[0] (main): tls.source 'letsencrypt' is invalid"),
    ([site(tls={"source": "acme"})], "nginx_sites[0] (main): tls.email None is not an email address"),
    ([site(tls={"source": "acme", "email": "ops at example.org"})],
     "nginx_sites[0] (main): tls.email 'ops at example.org' is not an email address"),
    ([site(tls={"source": "acme", "email": "ops@example.org", "directory_url": "http://ca.example.org/dir"})],
     "nginx_sites[0] (main): tls.directory_url 'http://ca.example.org/dir' is not an https:// URL"),
    ([site(server_names=["_"], tls={"source": "acme", "email": "ops@example.org"})],
     "nginx_sites[0] (main): server_names: '_' is not a DNS name that an ACME CA can check"),
    ([site(server_names=["*.example.org"], tls={"source": "acme", "email": "ops@example.org"})],
     "nginx_sites[0] (main): server_names: '*.example.org' is not a DNS name"),
    ([site(server_names=["192.0.2.1"], tls={"source": "acme", "email": "ops@example.org"})],
     "nginx_sites[0] (main): server_names: '192.0.2.1' is not a DNS name"),
    ([site(server_names=["localhost"], tls={"source": "acme", "email": "ops@example.org"})],
     "nginx_sites[0] (main): server_names: 'localhost' is not a DNS name"),
    ([site(**files_tls("nope.crt", "ok.key"))], "nginx_sites[0] (main): tls.cert is not a file on the controller"),
    ([site(**files_tls("ok.crt", "missing.key"))], "nginx_sites[0] (main): tls.key is not a file"),
    ([site(**files_tls("junk.crt", "ok.key"))], "nginx_sites[0] (main): tls.cert is not a PEM certificate"),
    ([site(**files_tls("ok.crt", "other.key"))], "nginx_sites[0] (main): tls.key does not match tls.cert"),
    ([site(**files_tls("old.crt", "old.key"))], "nginx_sites[0] (main): tls.cert expired on 2026-11-29"),
    ([site(tls={"source": "acme", "email": "ops@example.org", "account_key": "missing.key"})],
     "nginx_sites[0] (main): tls.account_key is not a file on the controller"),
    ([site(tls={"source": "acme", "email": "ops@example.org", "account_key": "ok.crt"})],
     "nginx_sites[0] (main): tls.account_key is not an unencrypted PEM private key"),
    ([site(tls={"source": "acme", "email": "ops@example.org", "account_key": "small.key"})],
     "nginx_sites[0] (main): tls.account_key must be an RSA key of 2048 bits or more"),
    ([site(), site(name="tools", server_names=["_"])],
     "nginx_sites[1] (tools): server_names ['_'] matches no request on a site that is not the first"),
    ([], "nginx_sites must be a non-empty list of sites"),
])
def test_sites_errors_refuses(sites: list[Any], message: str) -> None:
    errors = sites_errors(sites, FILES, NOW)
    assert any(e.startswith(message) for e in errors), errors


def test_valid_sites_pass() -> None:
    sites = [site(**files_tls("ok.crt", "ok.key"), hsts=True),
             site(name="tools", server_names=["tools.example.org"]),
             site(name="demo", server_names=["_"], tls={"source": "self-signed"}),
             site(name="plain", server_names=["plain.example.org"]),
             site(name="acme", server_names=["acme.example.org"], tls={"source": "acme", "email": "ops@example.org"}),
             site(name="own", server_names=["own.example.org"],
                  tls={"source": "acme", "email": "ops@example.org", "account_key": "ok.key"})]
    sites.insert(0, sites.pop(2))  # '_' alone: the first site (nginx's default server) only
    assert sites_errors(sites, FILES, NOW) == []


def test_site_endpoints_give_each_site_its_locations_and_how_the_host_reaches_it() -> None:
    sites = [site(name="demo", server_names=["_"], tls={"source": "self-signed"}),
             site(name="acme", server_names=["acme.example.org"], tls={"source": "acme"}),
             site(name="plain", server_names=["plain.example.org", "www.plain.example.org"])]
    first, acme, plain = site_endpoints(sites, "/etc/nginx/appmount", 80, 443, 8443, "/etc/ssl/appmount", "web1")
    assert first == {"name": "demo", "scheme": "https", "port": 443, "url": "https://127.0.0.1:443",
                     "server_name": "web1", "ca_file": "/etc/ssl/appmount/demo/fullchain.pem",
                     "public_port": 8443, "public_url": "https://web1:8443", "locations_dir": "/etc/nginx/appmount"}
    assert (acme["server_name"], acme["ca_file"], acme["locations_dir"]) == (
        "acme.example.org", "/etc/ssl/appmount/acme/chain.pem", "/etc/nginx/appmount/sites/acme")
    assert plain == {"name": "plain", "scheme": "http", "port": 80, "url": "http://127.0.0.1:80",
                     "server_name": "plain.example.org", "ca_file": "", "public_port": 80,
                     "public_url": "http://plain.example.org",
                     "locations_dir": "/etc/nginx/appmount/sites/plain"}


def test_the_single_site_of_earlier_versions_is_asked_as_the_default_server() -> None:
    [only] = site_endpoints([{"name": "appmount", "server_names": ["_"], "tls": {"source": "none"}}],
                            "/etc/nginx/appmount", 8080, 443, 0, "/etc/ssl/appmount", "web1")
    assert (only["url"], only["server_name"], only["public_url"]) == ("http://127.0.0.1:8080", "", "http://web1:8080")


def test_certificate_problem_is_none_for_a_matching_pair() -> None:
    assert certificate_problem(CERT, KEY, NOW) is None


def test_nginx_restores_puts_back_what_changed() -> None:
    written = [{"changed": True, "dest": "/etc/nginx/snippets/tls.conf"},
               {"changed": True, "dest": "/etc/nginx/sites-available/a.conf", "backup_file": "/tmp/a.bak"},
               {"changed": False, "dest": "/etc/nginx/sites-available/b.conf"}]
    linked = [{"changed": True, "dest": "/etc/nginx/sites-enabled/a.conf"}, {"changed": False, "dest": "x"}]
    assert nginx_restores(written, linked) == [
        "--restore", "/etc/nginx/snippets/tls.conf", "-", "--restore", "/etc/nginx/sites-available/a.conf",
        "/tmp/a.bak", "--restore", "/etc/nginx/sites-enabled/a.conf", "-"]


def test_nginx_restores_skips_results_of_check_mode() -> None:
    assert nginx_restores([{"changed": True, "diff": {}}], [{"changed": True}]) == []


def test_proxies_errors_accepts_addresses_and_networks() -> None:
    assert proxies_errors(["192.0.2.10", "2001:db8::1", "10.0.0.0/8", "2001:db8::/32", "192.168.1.5/24"]) == []
    assert proxies_errors([]) == []


def test_proxies_errors_refuses_a_host_name_naming_its_index() -> None:
    assert proxies_errors(["192.0.2.10", "lb.example.org", "10.0.0.0/33"]) == [
        "nginx_trusted_proxies[1]: 'lb.example.org' is not an IP address or a CIDR network (nginx's realip and geo "
        "modules take no host names)",
        "nginx_trusted_proxies[2]: '10.0.0.0/33' is not an IP address or a CIDR network (nginx's realip and geo "
        "modules take no host names)"]


def test_proxies_errors_names_the_field_it_is_given() -> None:
    [error] = proxies_errors(["lb1"], "balancer_trusted_proxies")
    assert error.startswith("balancer_trusted_proxies[0]: 'lb1' is not an IP address")


@pytest.mark.parametrize("proxies", ["192.0.2.10", None, {"lb": "192.0.2.10"}], ids=["string", "none", "mapping"])
def test_proxies_errors_refuses_what_is_not_a_list(proxies: Any) -> None:
    assert proxies_errors(proxies) == ["nginx_trusted_proxies must be a list of IP addresses or CIDR networks"]


def test_sites_with_defaults_fills_sub_options_from_the_spec() -> None:
    sites = sites_with_defaults([site(tls={"source": "acme", "email": "ops@example.org"}), site(name="plain")])
    assert sites[0]["tls"]["directory_url"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert (sites[0]["hsts"], sites[0]["behind_balancer"]) == (False, False)
    assert "tls" not in sites[1]
    assert sites_with_defaults("not a list") == "not a list"


def test_acme_failure_names_the_site_the_ca_and_its_answer() -> None:
    stderr = ("Saving debug log to /var/log/letsencrypt/letsencrypt.log\n"
              "Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority "
              "reported these problems:\n  Domain: nowhere.test\n  Type:   dns\n  Detail: lookup nowhere.test: "
              "no such host\n\nHint: The Certificate Authority failed to download the temporary challenge files\n"
              "Some challenges have failed.\nAsk for help or search for solutions at https://community.letsencrypt.org")
    result = {"rc": 1, "stderr": stderr,
              "item": {"name": "shop", "tls": {"directory_url": "https://ca.test/dir"}}}
    message = acme_failure(result)
    assert message.startswith("nginx_sites shop: the ACME order at https://ca.test/dir failed")
    assert "Domain: nowhere.test Type:   dns Detail: lookup nowhere.test: no such host" in message
    assert "Hint" not in message and "Saving debug log" not in message
    assert acme_failure({"rc": 1, "stderr": "", "item": {"name": "a", "tls": {}}}).endswith("certbot exited with 1")


def test_acme_failure_of_an_account_names_the_site_and_the_ca_s_answer() -> None:
    result = {"failed": True, "msg": "the ACME account at https://ca.test/dir could not be registered: refused",
              "item": {"name": "shop", "tls": {"directory_url": "https://ca.test/dir"}}}
    assert acme_failure(result) == ("nginx_sites shop: the ACME order at https://ca.test/dir failed: the ACME account "
                                    "at https://ca.test/dir could not be registered: refused")
