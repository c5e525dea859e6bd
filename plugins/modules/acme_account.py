#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Give certbot an ACME account whose key is the user's own."""

from __future__ import annotations

DOCUMENTATION = r"""
module: acme_account
short_description: Register an ACME account key of one's own and make it certbot's account
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - certbot makes its account keys itself and cannot import one. This module registers the given key at the ACME
    server (or finds the account the CA already has for it, RFC 8555 section 7.3) and writes the account in
    certbot's own layout - C(CONFIG_DIR/accounts/SERVER/ID/) with C(private_key.json), C(regr.json) and
    C(meta.json), where C(ID) is certbot's account ID, the MD5 of the public key - so that
    C(certbot certonly --account ID) and the renewals of C(certbot.timer) use it.
  - Used by the C(appmount.wsgi.nginx) role for the C(acme) sites with C(tls.account_key). The CA is contacted only
    when the account is not in place yet.
  - Runs with certbot's Python libraries (C(python3-acme), C(python3-josepy)); the role installs certbot first.
options:
  directory_url:
    description: The ACME directory of the CA.
    type: str
    required: true
  email:
    description: The account's contact address.
    type: str
    required: true
  key:
    description: The account's private key (PEM, RSA of 2048 bits or more, or EC P-256 or P-384).
    type: str
    required: true
  config_dir:
    description: certbot's configuration directory.
    type: path
    default: /etc/letsencrypt
notes:
  - The HTTPS of the CA is verified against the host's CA store, or C(REQUESTS_CA_BUNDLE) when set.
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Use the team's ACME account key
  appmount.wsgi.acme_account:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    email: ops@example.org
    key: "{{ lookup('ansible.builtin.file', 'acme-account.pem') }}"
  no_log: true
"""

RETURN = r"""
id:
  description: certbot's ID of the account (what C(certbot --account) takes).
  type: str
  returned: always
uri:
  description: The account's URL at the CA.
  type: str
  returned: when the account was registered or found at the CA in this run
"""

import datetime
import hashlib
import json
import os
import socket
import urllib.parse
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:  # certbot's libraries (python3-cryptography comes with them)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
except ImportError:  # pragma: no cover - the role installs certbot first
    serialization = ec = rsa = None  # type: ignore[assignment]
try:
    import josepy as jose
    from acme import client, errors, messages
    HAS_ACME = True
except ImportError:  # pragma: no cover - the role installs certbot first
    HAS_ACME = False


def account_id(key: Any) -> str:
    """certbot's account ID: the MD5 of the public key in PEM (certbot/_internal/account.py)."""
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.md5(public, usedforsecurity=False).hexdigest()


def account_dir(config_dir: str, directory_url: str, ident: str) -> str:
    """certbot's directory for the accounts of a server: accounts/NETLOC/PATH/ID (NamespaceConfig.server_path)."""
    parsed = urllib.parse.urlparse(directory_url)
    return os.path.join(config_dir, "accounts", parsed.netloc + parsed.path, ident)


def jwk_and_alg(key: Any) -> tuple[Any, Any]:
    """The JWK of the key and the signature algorithm certbot uses with it (client.acme_from_config_key)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return jose.JWKRSA(key=key), jose.RS256
    algs = {256: jose.ES256, 384: jose.ES384}
    return jose.JWKEC(key=key), algs[key.curve.key_size]


def register(directory_url: str, email: str, jwk: Any, alg: Any) -> str:
    """The account's URL: registered now, or the one the CA already has for this key."""
    net = client.ClientNetwork(jwk, alg=alg, user_agent="appmount.wsgi")
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    try:
        regr = acme.new_account(messages.NewRegistration.from_data(email=email, terms_of_service_agreed=True))
    except errors.ConflictError as existing:  # the CA knows the key: its account's URL
        return str(existing.location)
    return str(regr.uri)


def write(path: str, content: str, mode: int) -> None:
    tmp = f"{path}.appmount-tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directory_url": {"type": "str", "required": True},
            "email": {"type": "str", "required": True},
            "key": {"type": "str", "required": True, "no_log": True},
            "config_dir": {"type": "path", "default": "/etc/letsencrypt"},
        },
        supports_check_mode=True,
    )
    if not HAS_ACME or serialization is None:
        module.fail_json(msg=missing_required_lib("acme (Debian's python3-acme, installed with certbot)"))
    params = module.params
    try:
        key = serialization.load_pem_private_key(params["key"].encode(), password=None)
    except (ValueError, TypeError) as err:
        module.fail_json(msg=f"the account key is not an unencrypted PEM private key: {err}")
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        module.fail_json(msg="the account key must be an RSA or EC private key")
    ident = account_id(key)
    path = account_dir(params["config_dir"], params["directory_url"], ident)
    jwk, alg = jwk_and_alg(key)
    files = [os.path.join(path, name) for name in ("private_key.json", "regr.json", "meta.json")]
    if all(os.path.isfile(f) for f in files):
        with open(files[0], encoding="utf-8") as handle:
            if jose.JWK.json_loads(handle.read()) == jwk:
                module.exit_json(changed=False, id=ident)
    if module.check_mode:
        module.exit_json(changed=True, id=ident)
    try:
        uri = register(params["directory_url"], params["email"], jwk, alg)
    except Exception as err:  # the CA's answer or the connection's error, for the play to show
        module.fail_json(msg=f"the ACME account at {params['directory_url']} could not be registered: {err}", id=ident)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    created = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    write(files[0], jwk.json_dumps(), 0o400)
    write(files[1], json.dumps({"body": {}, "uri": uri}), 0o644)
    write(files[2], json.dumps({"creation_dt": created, "creation_host": socket.getfqdn()}), 0o644)
    module.exit_json(changed=True, id=ident, uri=uri)


if __name__ == "__main__":
    main()
