"""The encrypted values of a stack file, checked without the passphrase: well-formed, decryptable in
principle, and not protected by the passphrase the project publishes with its examples.

Pulumi's passphrase secrets provider keeps ``encryptionsalt: v1:<salt>:<check>`` in the stack file:
the key is PBKDF2-SHA256 (1,000,000 rounds) of the passphrase and the salt, and ``<check>`` is the
word ``pulumi`` encrypted with it. Every ``secure:`` value is ``v1:<nonce>:<ciphertext>`` under
AES-256-GCM (Pulumi's ``pkg/secrets/passphrase`` and ``pkg/resource/config/crypt.go``); cloud
providers (``awskms://``) use the same value format with a data key of their own.

A stack file copied from the examples keeps their salt, or a secret re-encrypted with the published
example passphrase: anyone who read the README can decrypt it. That is reported as a warning (the
offline plan uses the examples on purpose); a value that is not a ciphertext at all, or a
passphrase stack without its salt, would fail only at ``pulumi up``, and is refused here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

EXAMPLE_PASSPHRASE = "ailab-example-passphrase"
"""The passphrase the example stacks are encrypted with (README): public, never for a real deployment."""

EXAMPLE_SALTS = frozenset({"UYFCIX75jPQ=", "9nZLNq6p/iE="})
"""The salts of ``stacks/Pulumi.aws-eu.yaml`` and ``stacks/Pulumi.onprem.yaml``."""

PBKDF2_ROUNDS = 1_000_000
NONCE_BYTES = 12
TAG_BYTES = 16
CHECK_WORD = b"pulumi"


@dataclass(frozen=True)
class Ciphertext:
    nonce: bytes
    sealed: bytes
    """Ciphertext followed by the GCM tag."""


def parse_ciphertext(text: str) -> Ciphertext | None:
    """``v1:<base64 12-byte nonce>:<base64 ciphertext+tag>``, or None when ``text`` is not one."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != "v1":
        return None
    try:
        nonce = base64.b64decode(parts[1], validate=True)
        sealed = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
        return None
    return Ciphertext(nonce, sealed)


@dataclass(frozen=True)
class Salt:
    salt: bytes
    salt_text: str
    check: Ciphertext


def parse_salt(text: str) -> Salt | None:
    """``v1:<base64 salt>:v1:<nonce>:<check>``, or None when ``text`` is not one."""
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[0] != "v1":
        return None
    try:
        salt = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    check = parse_ciphertext(parts[2])
    if not salt or check is None:
        return None
    return Salt(salt, parts[1], check)


def opens_with(passphrase: str, salt: Salt) -> bool:
    """Whether ``passphrase`` is the stack's passphrase: its key decrypts the salt's check word."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt.salt, PBKDF2_ROUNDS, 32)
    try:
        return AESGCM(key).decrypt(salt.check.nonce, salt.check.sealed, None) == CHECK_WORD
    except InvalidTag:
        return False


def uses_passphrase_provider(secrets_provider: object) -> bool:
    """No ``secretsprovider`` key means the passphrase provider, as does an explicit ``passphrase``."""
    return secrets_provider is None or str(secrets_provider).startswith("passphrase")


def example_secret_warning(salt: Salt, stack: str) -> str | None:
    """Why the stack's secrets are readable by anyone who read the examples, or None."""
    if salt.salt_text in EXAMPLE_SALTS or opens_with(EXAMPLE_PASSPHRASE, salt):
        return (
            f"stack {stack}: its secrets are encrypted with the published example passphrase; anyone can read them. "
            f"Before a real deployment: pulumi stack change-secrets-provider -s {stack} <your provider>, then set every secret again"
        )
    return None
