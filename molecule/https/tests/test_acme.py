"""The ACME site: a certificate from the scenario's local CA (pebble), renewed by Debian's certbot.timer service
under load, and orders that fail (a challenge the CA cannot check, a CA it cannot reach) leaving things as they were.

Each app host's ACME name is HOST.test, which the scenario network's DNS resolves to the host itself.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives import serialization

from appmount_testinfra import (
    example_apps,
    get_host,
    load_result,
    molecule_hosts,
    molecule_names,
    playbook,
    start_load,
    stop_load,
)
from https_sites import (
    PEBBLE,
    acme_site,
    certs_dir,
    converge_sites,
    files_site,
    https_apps,
    lb_site,
    self_signed_site,
    site_vars,
)

testinfra_hosts = molecule_hosts()

LISTENER_CA = "/etc/ssl/appmount-acme-ca.pem"  # nginx_acme_ca_file, as the role installs it
ROOT = "/root/pebble-root.pem"
LINEAGE = "/etc/letsencrypt/live/appmount-acme"


def name(host: Any) -> str:
    return f"{host.backend.name}.test"


def served_serial(host: Any) -> str:
    """The serial of the certificate that nginx serves for the host's ACME name, verified against pebble's root."""
    host.check_output(f"curl -fsS --cacert {LISTENER_CA} -o {ROOT} https://pebble:15000/roots/0")
    out = host.check_output(f"echo | openssl s_client -connect {name(host)}:443 -servername {name(host)} "
                            f"-CAfile {ROOT} -verify_return_error 2>/dev/null | openssl x509 -noout -serial")
    return str(out)


def test_the_acme_site_serves_a_certificate_of_the_local_ca(host: Any) -> None:
    assert served_serial(host).startswith("serial=")
    # a client that trusts the CA's root completes an HTTPS request to an app
    out = host.check_output(f"curl -sS --cacert {ROOT} https://{name(host)}/tools/ping/")
    assert out == "pong"  # ping is an app of the ACME site
    assert host.check_output(f"stat -L -c '%U %a' {LINEAGE}/privkey.pem") == "root 600"
    assert host.check_output("readlink /etc/ssl/appmount/acme/fullchain.pem") == f"{LINEAGE}/fullchain.pem"
    # plain HTTP moves to HTTPS, except the challenges
    head = host.check_output(f"curl -sS -o /dev/null -D - 'http://{name(host)}/notes/?q=1'")
    assert head.startswith("HTTP/1.1 301") and f"Location: https://{name(host)}/notes/?q=1" in head
    assert "HTTP/1.1 404" in host.check_output(f"curl -sS -o /dev/null -D - http://{name(host)}/.well-known/acme-challenge/x")


def test_the_site_s_account_is_the_one_of_its_account_key(host: Any) -> None:
    """certbot orders and renews with the account of tls.account_key: its ID is the MD5 of the public key."""
    key = serialization.load_pem_private_key((certs_dir() / "acme-account.key").read_bytes(), password=None)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ident = hashlib.md5(public).hexdigest()
    account = f"/etc/letsencrypt/accounts/pebble:14000/dir/{ident}"
    assert host.check_output(f"stat -c '%a' {account} {account}/private_key.json").split() == ["700", "400"]
    assert f"account = {ident}" in host.file("/etc/letsencrypt/renewal/appmount-acme.conf").content_string
    # the CA knows it: certbot shows the account's URL and contact
    shown = host.check_output(f"REQUESTS_CA_BUNDLE={LISTENER_CA} certbot show_account --server {PEBBLE} "
                              f"--account {ident} 2>&1")
    assert "Account URL: https://pebble:14000/" in shown and "admin@example.test" in shown, shown
    assert host.check_output("ls /etc/letsencrypt/accounts/pebble:14000/dir").split() == [ident]


def test_the_timer_s_renewal_under_load_fails_no_request_and_serves_the_new_certificate(host: Any) -> None:
    before = served_serial(host)
    assert host.service("certbot.timer").is_enabled
    host.check_output("echo 'force-renewal = True' >> /etc/letsencrypt/cli.ini")
    try:
        start_load(host.backend.name, ["/tools/ping/"], clients=10, seconds=120,
                   base=f"https://{name(host)}", cafile=ROOT)
        host.check_output("sleep 2; systemctl start certbot.service")  # the timer's service; oneshot, so it waits
        host.check_output("sleep 2")
        stop_load(host.backend.name)
        result = load_result(host.backend.name)
    finally:
        host.check_output("sed -i '/^force-renewal = True$/d' /etc/letsencrypt/cli.ini")
    print(f"\nRENEWAL {host.backend.name}: requests={result['requests']} non_2xx={result['non_2xx']} "
          f"slowest_ms={result['slowest_ms']} failures={result['failures']}")
    assert host.check_output("systemctl show -P Result certbot.service") == "success"
    assert result["non_2xx"] == 0, result
    assert result["requests"] > 100
    after = served_serial(host)
    assert after != before, "nginx must serve the renewed certificate"
    assert int(host.check_output(f"ls {LINEAGE.replace('live', 'archive')}/cert*.pem | wc -l")) >= 2


def test_failed_orders_fail_the_play_and_leave_each_site_as_it_was() -> None:
    """Both kinds at once, on both hosts: a new site whose name the CA cannot resolve (its challenge fails), and
    the existing site with a new name (which needs an order) at a CA that does not answer."""
    hosts = [get_host(n) for n in molecule_names()]
    serial = {h.backend.name: served_serial(h) for h in hosts}
    unreachable = acme_site(names=["{{ inventory_hostname }}.test", "www.{{ inventory_hostname }}.test"],
                            directory_url="https://pebble:14999/dir")
    try:
        run = playbook(https_apps(), "-e", site_vars([self_signed_site(), files_site(), unreachable, lb_site(),
                                                      acme_site("nowhere", ["nowhere.test"])]))
        assert run.rc != 0
        failed = run.output.split(f"nginx_sites nowhere: the ACME order at {PEBBLE} failed", 1)
        assert len(failed) == 2 and "nowhere.test" in failed[1][:2000], run.output[-3000:]
        failed = run.output.split("nginx_sites acme: the ACME order at https://pebble:14999/dir failed", 1)
        assert len(failed) == 2 and "14999" in failed[1][:2000], run.output[-3000:]
        for host in hosts:
            # the existing site keeps its certificate; the new one stays on plain HTTP (no redirect; no app yet)
            assert served_serial(host) == serial[host.backend.name]
            head = host.check_output("curl -sS -o /dev/null -D - -H 'Host: nowhere.test' http://127.0.0.1/blog/")
            assert head.startswith("HTTP/1.1 404"), head
            assert "listen 443" not in host.file("/etc/nginx/sites-available/nowhere.conf").content_string
    finally:
        run = playbook(https_apps(), "-e", converge_sites())
        assert run.rc == 0, run.output[-3000:]
    for host in hosts:
        assert not host.file("/etc/nginx/sites-available/nowhere.conf").exists
        assert served_serial(host) == serial[host.backend.name]


def test_removed_sites_leave_no_trace() -> None:
    """The files site and the ACME site go, on both hosts: files, links, app locations, certificates, certbot's
    lineage and the private CA's certificates (the lb site goes too); their apps go (files-ping, lb-ping) or move to
    the first site (ping), and come back."""
    hosts = [get_host(n) for n in molecule_names()]
    try:
        gone = [dict(app, state="absent") for app in https_apps() if app.get("site") in ("files", "lb")]
        run = playbook(example_apps() + gone, "-e", site_vars([self_signed_site()]))
        assert run.rc == 0, run.output[-3000:]
        for host in hosts:
            for path in ("/etc/nginx/sites-enabled/files.conf", "/etc/nginx/sites-available/files.conf",
                         "/etc/ssl/appmount/files", "/etc/nginx/sites-enabled/acme.conf", "/etc/ssl/appmount/acme",
                         LINEAGE, "/etc/letsencrypt/renewal/appmount-acme.conf", "/etc/nginx/appmount/sites/files",
                         "/etc/nginx/appmount/sites/acme", "/srv/appmount/files-ping",
                         "/etc/nginx/sites-available/lb.conf", "/etc/nginx/appmount/sites/lb", "/srv/appmount/lb-ping",
                         # no ACME site left: the private CA's certificates go, for certbot.service too
                         LISTENER_CA, "/etc/systemd/system/certbot.service.d/appmount.conf"):
                assert not host.file(path).exists, f"{host.backend.name}: {path}"
            # and systemd has forgotten the drop-in: certbot.timer's renewals no longer name the removed bundle
            assert LISTENER_CA not in host.check_output("systemctl show -p Environment certbot.service")
            assert host.check_output("curl -sk https://127.0.0.1/tools/ping/") == "pong"
    finally:
        run = playbook(https_apps(), "-e", converge_sites())  # the ACME site makes a new order
        assert run.rc == 0, run.output[-3000:]
    for host in hosts:
        assert host.file("/etc/nginx/sites-enabled/files.conf").is_symlink
        assert served_serial(host).startswith("serial=")
        assert LISTENER_CA in host.check_output("systemctl show -p Environment certbot.service")
        assert not host.file("/etc/nginx/appmount/locations-enabled/ping.conf").exists  # ping moved back
        assert host.check_output(f"curl -sS --cacert {ROOT} https://{name(host)}/tools/ping/") == "pong"
