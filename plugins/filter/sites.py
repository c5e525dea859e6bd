# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side checks of ``nginx_sites`` that argument specs cannot make.

``sites_errors`` refuses, naming the site and the field: names and server names, a server name claimed by two
sites, TLS settings that cannot work (a certificate file that is missing, unreadable as PEM, expired, or whose
key does not match) and apps on an unknown site.
Certificate files are read on the controller by the caller (``lookup('file')`` decrypts vaulted files) and
passed in as ``files``: path -> content, or None when the file does not exist.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any, Callable

try:  # ansible-core needs it, so a controller has it; ansible-test's import check runs without it
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover
    x509 = serialization = None  # type: ignore[assignment]

SITE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}\Z")
# a host name as a certificate can carry it: labels of letters, digits and '-', optionally one leading '*.'
SERVER_NAME_RE = re.compile(r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                            r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
SOURCES = ("none", "files", "self-signed")


def _label(index: int, site: Any) -> str:
    name = site.get("name") if isinstance(site, Mapping) else None
    return f"nginx_sites[{index}] ({name})" if isinstance(name, str) and name else f"nginx_sites[{index}]"


def certificate_problem(cert_pem: str | None, key_pem: str | None, now: datetime.datetime) -> str | None:
    """What keeps a certificate chain and key from being served, or None."""
    if x509 is None:
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
                err: Callable[[str], None]) -> None:
    name = site.get("name")
    if not isinstance(name, str) or not SITE_NAME_RE.match(name):
        err(f"name {name!r} is invalid; allowed: lower-case letters, digits and '-', starting with a letter")
    names = site.get("server_names")
    if not isinstance(names, list) or not names:
        err("server_names must be a non-empty list of host names (or ['_'] for any)")
        names = []
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


def _collector(errors: list[str], label: str) -> Callable[[str], None]:
    return lambda msg: errors.append(f"{label}: {msg}")


def sites_errors(sites: Any, apps: Any = None, files: Mapping[str, str | None] | None = None,
                 now: datetime.datetime | None = None) -> list[str]:
    """Every problem of ``nginx_sites`` (and of the ``site`` of each app), each naming the site or app and field."""
    if not isinstance(sites, list) or not sites:
        return ["nginx_sites must be a non-empty list of sites"]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    errors: list[str] = []
    claimed: dict[str, str] = {}
    for i, site in enumerate(sites):
        if not isinstance(site, Mapping):
            errors.append(f"nginx_sites[{i}] must be a mapping with at least name and server_names")
            continue
        label = _label(i, site)
        _check_site(site, files or {}, now, _collector(errors, label))
        for server_name in site.get("server_names") or []:
            if not isinstance(server_name, str):
                continue
            if server_name in claimed:
                errors.append(f"{label}: server name {server_name!r} is already claimed by site "
                              f"{claimed[server_name]!r}; a name belongs to one site")
            claimed.setdefault(server_name, str(site.get("name")))
    known = [s.get("name") for s in sites if isinstance(s, Mapping)]
    for i, app in enumerate(apps if isinstance(apps, Sequence) else []):
        if isinstance(app, Mapping) and "site" in app and app["site"] not in known:
            errors.append(f"appmount_apps[{i}] ({app.get('name')}): site {app['site']!r} is not a site of "
                          f"nginx_sites; sites: {', '.join(str(k) for k in known)}")
    return errors


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
        return {"sites_errors": sites_errors, "nginx_restores": nginx_restores}
