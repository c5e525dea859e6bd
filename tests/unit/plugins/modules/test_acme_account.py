"""acme_account writes certbot's layout: the account's directory is certbot's for the server and the key."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.appmount.wsgi.plugins.modules.acme_account import account_dir, account_id


def test_the_account_directory_is_certbot_s_for_the_server_and_the_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    ident = account_id(key)
    assert ident == hashlib.md5(public).hexdigest() and account_id(key) == ident
    assert account_dir("/etc/letsencrypt", "https://pebble:14000/dir", ident) == (
        f"/etc/letsencrypt/accounts/pebble:14000/dir/{ident}")
    assert account_dir("/etc/letsencrypt", "https://acme-v02.api.letsencrypt.org/directory", "x") == (
        "/etc/letsencrypt/accounts/acme-v02.api.letsencrypt.org/directory/x")
