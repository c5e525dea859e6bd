# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side checks of ``nginx_sites`` that argument specs cannot make.

``sites_errors`` refuses, naming the site and the field: names and server names, a server name claimed by two
sites, TLS settings that cannot work (a certificate file that is missing, unreadable as PEM, expired, or whose
key does not match).
Certificate files are read on the controller by the caller (``lookup('file')`` decrypts vaulted files) and
passed in as ``files``: path -> content, or None when the file does not exist.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Callable

from ansible_collections.appmount.wsgi.plugins.plugin_utils.appspec import role_spec, with_defaults
from ansible_collections.appmount.wsgi.plugins.plugin_utils.refusals import collector, item_label

SITE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")
# a host name as a certificate can carry it: labels of letters, digits and '-', optionally one leading '*.'
SERVER_NAME_RE = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                            r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
SOURCES = ("none", "files", "acme", "self-signed")
# what certbot accepts as a contact: one address, no spaces or commas
EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+\Z")
NGINX_SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "nginx", "meta", "argument_specs.yml")


def certificate_problem(cert_pem: str | None, key_pem: str | None, now: datetime.datetime) -> str | None:
    """What keeps a certificate chain and key from being served, or None."""
    # imported here, not with the filter file: every task that uses one of the collection's filters loads the file,
    # and cryptography's x509 takes most of its import time
    try:  # ansible-core needs it, so a controller has it; ansible-test's import check runs without it
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError:  # pragma: no cover
        return "checking certificates needs the Python package cryptography on the controller"
    if cert_pem is None:
        return "tls.cert is not a file on the controller"
    if key_pem is None:
        return "tls.key is not a file on the controller"
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        return "tls.cert is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return "tls.key is not an unencrypted PEM private key"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (cert.public_key().public_bytes(serialization.Encoding.PEM, public)
            != key.public_key().public_bytes(serialization.Encoding.PEM, public)):
        return "tls.key does not match tls.cert"
    expires = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    if expires <= now:
        return f"tls.cert expired on {expires:%Y-%m-%d}"
    return None


def _check_site(site: Mapping[str, Any], files: Mapping[str, str | None], now: datetime.datetime,
                err: Callable[[str], None], first: bool = True) -> None:
    name = site.get("name")
    if not isinstance(name, str) or not SITE_NAME_RE.match(name):
        err(f"name {name!r} is invalid; allowed: lower-case letters, digits and '-', starting with a letter")
    names = site.get("server_names")
    if not isinstance(names, list) or not names:
        err("server_names must be a non-empty list of host names (or ['_'] for any)")
        names = []
    if not first and names == ["_"]:
        err("server_names ['_'] matches no request on a site that is not the first (nginx's default server); "
            "name the site's hosts")
    for server_name in names:
        if server_name != "_" and (not isinstance(server_name, str) or not SERVER_NAME_RE.match(server_name)):
            err(f"server_names: {server_name!r} is not a host name")
    tls = site.get("tls") or {}
    source = tls.get("source", "none")
    if source not in SOURCES:
        err(f"tls.source {source!r} is invalid; allowed: {', '.join(SOURCES)}")
    elif source == "files":
        problem = certificate_problem(files.get(str(tls.get("cert"))), files.get(str(tls.get("key"))), now)
        if problem:
            err(problem)
    elif source == "acme":
        _check_acme(tls, names, err)
        if tls.get("account_key"):
            problem = account_key_problem(files.get(str(tls["account_key"])))
            if problem:
                err(problem)


def account_key_problem(key_pem: str | None) -> str | None:
    """What keeps a key from being an ACME account key that certbot signs with, or None."""
    try:  # see certificate_problem
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
    except ImportError:  # pragma: no cover
        return "checking keys needs the Python package cryptography on the controller"
    if key_pem is None:
        return "tls.account_key is not a file on the controller"
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return "tls.account_key is not an unencrypted PEM private key"
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in ("secp256r1", "secp384r1"):
        return None
    return "tls.account_key must be an RSA key of 2048 bits or more, or an EC key on P-256 or P-384"


def _check_acme(tls: Mapping[str, Any], names: list[Any], err: Callable[[str], None]) -> None:
    """What an ACME CA would refuse, or what HTTP-01 cannot prove: a contact, an https directory, DNS names."""
    email = tls.get("email")
    if not isinstance(email, str) or not EMAIL_RE.match(email):
        err(f"tls.email {email!r} is not an email address; an ACME account needs a contact")
    url = tls.get("directory_url")  # sites_with_defaults gives it the spec's default
    if url is not None and (not isinstance(url, str) or not re.match(r"^https://[^/\s]+(/\S*)?\Z", url)):
        err(f"tls.directory_url {url!r} is not an https:// URL")
    for server_name in names:
        if isinstance(server_name, str) and (server_name == "_" or server_name.startswith("*.")
                                             or "." not in server_name or server_name.replace(".", "").isdigit()):
            err(f"server_names: {server_name!r} is not a DNS name that an ACME CA can check over HTTP-01 "
                "(no '_', wildcard, IP address or single label)")


def sites_errors(sites: Any, files: Mapping[str, str | None] | None = None,
                 now: datetime.datetime | None = None) -> list[str]:
    """Every problem of ``nginx_sites``, each naming the site and the field (the apps role checks each app's
    ``site`` against ``nginx_site_endpoints``)."""
    if not isinstance(sites, list) or not sites:
        return ["nginx_sites must be a non-empty list of sites"]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    errors: list[str] = []
    claimed: dict[str, str] = {}
    for i, site in enumerate(sites):
        if not isinstance(site, Mapping):
            errors.append(f"nginx_sites[{i}] must be a mapping with at least name and server_names")
            continue
        label = item_label("nginx_sites", i, site)
        _check_site(site, files or {}, now, collector(errors, label), first=i == 0)
        for server_name in site.get("server_names") or []:
            if not isinstance(server_name, str):
                continue
            if server_name in claimed:
                errors.append(f"{label}: server name {server_name!r} is already claimed by site "
                              f"{claimed[server_name]!r}; a name belongs to one site")
            claimed.setdefault(server_name, str(site.get("name")))
    return errors


def proxies_errors(proxies: Any, field: str = "nginx_trusted_proxies") -> list[str]:
    """Every entry of a list of trusted proxies that is not an IP address or a CIDR network, named."""
    if not isinstance(proxies, list):
        return [f"{field} must be a list of IP addresses or CIDR networks"]
    errors = []
    for i, proxy in enumerate(proxies):
        try:
            ipaddress.ip_network(str(proxy), strict=False)
        except ValueError:
            errors.append(f"{field}[{i}]: {proxy!r} is not an IP address or a CIDR network (nginx's realip and geo "
                          "modules take no host names)")
    return errors


def sites_with_defaults(sites: Any) -> Any:
    """``nginx_sites`` with the defaults of the nginx role's spec for what each site leaves out (its single owner);
    anything that is not a list of mappings as it is, for ``sites_errors`` to refuse."""
    if not isinstance(sites, list) or not all(isinstance(site, Mapping) for site in sites):
        return sites
    options = role_spec("main", NGINX_SPEC)["nginx_sites"]["options"]
    return [with_defaults(site, options) for site in sites]


def site_endpoints(sites: Sequence[Mapping[str, Any]], locations_dir: str, http_port: int, https_port: int,
                   public_https_port: int, tls_dir: str, host_name: str) -> list[dict[str, Any]]:
    """The nginx role's contract with the apps role (``nginx_site_endpoints``), one entry per site in order; the
    first site is the default site of apps without ``site``. Each says where the site's app locations live (the
    first site keeps ``locations_dir`` itself, the others ``locations_dir/sites/NAME``) and how the host reaches
    the site: HTTPS when it has TLS, with the name to send (SNI and Host) and the certificate to verify against
    (the certificate itself when self-signed, else the chain that issued it)."""
    result = []
    for i, site in enumerate(s for s in sites if isinstance(s, Mapping)):
        name = str(site.get("name"))
        source = (site.get("tls") or {}).get("source", "none")
        tls = source != "none"
        named = [n for n in site.get("server_names") or [] if isinstance(n, str) and n != "_"]
        server_name = named[0] if named else (host_name if tls else "")
        port = int(https_port if tls else http_port)
        public_port = int(public_https_port or https_port) if tls else port
        scheme = "https" if tls else "http"
        result.append({
            "name": name, "scheme": scheme, "port": port, "url": f"{scheme}://127.0.0.1:{port}",
            "server_name": server_name,
            "ca_file": f"{tls_dir}/{name}/{'chain' if source == 'acme' else 'fullchain'}.pem" if tls else "",
            "public_port": public_port,
            "public_url": f"{scheme}://{server_name or host_name}"
                          + ("" if public_port == (443 if tls else 80) else f":{public_port}"),
            "locations_dir": locations_dir if i == 0 else f"{locations_dir}/sites/{name}",
        })
    return result


# certbot's lines that say nothing about why an order failed
_CERTBOT_NOISE = ("Saving debug log", "Ask for help", "Hint:", "Requesting a certificate", "See the logfile",
                  "Some challenges have failed", "An unexpected error occurred")


def acme_failure(result: Mapping[str, Any]) -> str:
    """One line for a failed ``certbot certonly`` or ``acme_account`` of a site (a registered loop result): the
    site, the CA, and what the CA or the connection to it answered."""
    item = result.get("item") or {}
    tls = item.get("tls") or {}
    if "rc" not in result:  # the site's account (acme_account) failed: its message carries the CA's answer
        return (f"nginx_sites {item.get('name')}: the ACME order at {tls.get('directory_url')} failed: "
                f"{result.get('msg')}")
    output = f"{result.get('stdout', '')}\n{result.get('stderr', '')}"
    lines = [line.strip() for line in output.splitlines()]
    said = [line for line in lines if line and not line.startswith(_CERTBOT_NOISE)]
    answer = " ".join(said)[-700:] or f"certbot exited with {result.get('rc')}"
    return (f"nginx_sites {item.get('name')}: the ACME order at {tls.get('directory_url')} failed, the site keeps "
            f"what it served: {answer}")


def nginx_restores(written: Sequence[Mapping[str, Any]], linked: Sequence[Mapping[str, Any]] = ()) -> list[str]:
    """The ``--restore PATH BEFORE`` arguments of the nginx apply script for the results of ``template`` tasks
    (``backup: true``) and of ``file`` tasks that made links: a changed file goes back to its backup, or away when
    it is new; a new link goes away."""
    args: list[str] = []
    for result in written:
        if result.get("changed") and result.get("dest"):  # check mode reports no dest: nothing was written
            args += ["--restore", str(result["dest"]), str(result.get("backup_file") or "-")]
    for result in linked:
        if result.get("changed") and result.get("dest"):
            args += ["--restore", str(result["dest"]), "-"]
    return args


class FilterModule:
    """appmount.wsgi site filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"sites_errors": sites_errors, "sites_with_defaults": sites_with_defaults, "acme_failure": acme_failure,
                "nginx_restores": nginx_restores, "site_endpoints": site_endpoints, "proxies_errors": proxies_errors}
