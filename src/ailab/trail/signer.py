"""Who signs checkpoints: the :class:`Signer` interface, the local Ed25519 key, and pinned public keys.

The embedded default is an Ed25519 key in ailab's data directory (``keys/trail-ed25519.pem``, mode
0600). A cloud KMS key, an HSM or a transit engine plugs in by implementing :class:`Signer`: the log
only ever asks for a signature over the checkpoint body and the public key that checks it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ailab.errors import BadInputError, OperationFailedError
from ailab.home import sub_dir

KEY_FILE = "trail-ed25519.pem"
_MAX_PEM = 16 * 1024


class Signer(Protocol):
    """Signs checkpoint bodies; ``public_key`` is what a reviewer pins."""

    def public_key(self) -> Ed25519PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


def default_key_path() -> Path:
    return sub_dir("keys") / KEY_FILE


class LocalKeySigner:
    """An Ed25519 private key in a PEM file, created on first use (mode 0600, never overwritten)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_key_path()
        self._key: Ed25519PrivateKey | None = None

    def exists(self) -> bool:
        return self.path.exists()

    def _private(self) -> Ed25519PrivateKey:
        if self._key is None:
            self._key = self._load() if self.path.exists() else self._create()
        return self._key

    def _create(self) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:  # O_EXCL: two first writers never overwrite each other's key
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._load()
        with os.fdopen(fd, "wb") as stream:
            stream.write(pem)
            stream.flush()
            os.fsync(stream.fileno())
        return key

    def _load(self) -> Ed25519PrivateKey:
        data = _read_pem(self.path)
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as error:
            raise BadInputError(f"{self.path}: not an unencrypted PEM private key ({error}); restore the trail's key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise BadInputError(f"{self.path}: not an Ed25519 key; restore the trail's key")
        return key

    def public_key(self) -> Ed25519PublicKey:
        return self._private().public_key()

    def sign(self, message: bytes) -> bytes:
        return self._private().sign(message)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A pinned public key from a PEM file (as ``ailab audit key`` prints it)."""
    data = _read_pem(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise BadInputError(f"{path}: not a PEM public key; pass the key `ailab audit key` printed") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInputError(f"{path}: not an Ed25519 public key; pass the key `ailab audit key` printed")
    return key


def verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def _read_pem(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise BadInputError(f"{path}: not a regular file; pass a PEM key file")
        with path.open("rb") as stream:
            data = stream.read(_MAX_PEM + 1)
    except OSError as error:
        raise BadInputError(f"{path}: cannot read it ({error.strerror or error}); pass a readable PEM key file") from None
    if len(data) > _MAX_PEM:
        raise BadInputError(f"{path}: larger than {_MAX_PEM} bytes, not a PEM key; pass a PEM key file")
    return data


class KmsSigner:
    """An AWS KMS asymmetric key (key spec ECC_NIST_EDWARDS25519): the private key never leaves KMS.

    Signs with ``ED25519_SHA_512`` over the raw message (pure Ed25519, RFC 8032), so the notes verify
    with the same public key code as the local signer's. The lab program creates the key, with
    ``kms:Sign`` for the operators' role only (``ailab.infra.aws.evidence``).
    """

    ALGORITHM = "ED25519_SHA_512"

    def __init__(self, key_id: str, client: Any = None) -> None:
        self.key_id = key_id
        if client is None:
            import boto3

            client = boto3.client("kms")
        self.client = client
        self._public: Ed25519PublicKey | None = None

    def public_key(self) -> Ed25519PublicKey:
        if self._public is None:
            answer = self._call("get_public_key", KeyId=self.key_id)
            try:
                key: Any = serialization.load_der_public_key(answer["PublicKey"])
            except ValueError:
                key = None
            if not isinstance(key, Ed25519PublicKey) or self.ALGORITHM not in answer.get("SigningAlgorithms", []):
                raise BadInputError(f"KMS key {self.key_id}: not an ECC_NIST_EDWARDS25519 signing key; use the lab's trail key")
            self._public = key
        return self._public

    def sign(self, message: bytes) -> bytes:
        answer = self._call("sign", KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm=self.ALGORITHM)
        signature: bytes = answer["Signature"]
        return signature

    def _call(self, operation: str, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise OperationFailedError(f"KMS key {self.key_id}: {operation} refused ({code})") from None
        except BotoCoreError as error:
            raise OperationFailedError(f"KMS key {self.key_id}: unreachable ({error})") from None
