"""The scenario's sites as the converge describes them, for the tests that run playbooks with other sites."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from appmount_testinfra import example_apps

PEBBLE = "https://pebble:14000/dir"


def certs_dir() -> Path:
    """Where the converge made the test CA, the files site's certificate and the ACME CA's listener CA."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def https_apps() -> List[Dict[str, Any]]:
    """The example apps placed on the sites as the converge places them (molecule/https/vars/apps.yml)."""
    with open(Path(__file__).resolve().parents[1] / "vars" / "apps.yml", encoding="utf-8") as handle:
        placing = yaml.safe_load(handle)
    acme = placing["https_acme_apps"]
    return ([app for app in example_apps() if app["name"] not in acme]
            + [dict(app, site="acme") for app in example_apps() if app["name"] in acme] + placing["https_extra_apps"])


def self_signed_site() -> Dict[str, Any]:
    return {"name": "appmount", "server_names": ["_"], "tls": {"source": "self-signed"}, "hsts": True}


def files_site(cert: str = "files.crt", key: str = "files.key", names: Optional[List[str]] = None) -> Dict[str, Any]:
    return {"name": "files", "server_names": names or ["files.test"],
            "tls": {"source": "files", "cert": str(certs_dir() / cert), "key": str(certs_dir() / key)}}


def acme_site(name: str = "acme", names: Optional[List[str]] = None, **tls: Any) -> Dict[str, Any]:
    """An ACME site of the local CA; by default the converge's, for the host's own name HOST.test."""
    return {"name": name, "server_names": names or ["{{ inventory_hostname }}.test"],
            "tls": {"source": "acme", "email": "admin@example.test", "directory_url": PEBBLE,
                    "account_key": str(certs_dir() / "acme-account.key"), **tls}}


def lb_site() -> Dict[str, Any]:
    """A site behind a TLS-terminating balancer: a certificate, but plain HTTP serves its apps."""
    return {"name": "lb", "server_names": ["lb.test"], "tls": {"source": "self-signed"}, "behind_balancer": True}


def site_vars(sites: List[Dict[str, Any]]) -> str:
    """Extra vars of a playbook run with these sites (and the converge's trust of the ACME CA)."""
    return json.dumps({"nginx_sites": sites, "nginx_acme_ca_file": str(certs_dir() / "pebble-listener-ca.pem")})


def converge_sites(*extra: Dict[str, Any]) -> str:
    """Extra vars with the converge's four sites, then ``extra`` sites."""
    return site_vars([self_signed_site(), files_site(), acme_site(), lb_site(), *extra])
