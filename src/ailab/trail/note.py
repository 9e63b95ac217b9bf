"""Checkpoints as C2SP signed notes (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note).

The body is the origin line, the tree size, the base64 root hash and one extension line with the
signing time; then a blank line and one signature line, ``— <name> <base64(key id || signature)>``,
where the key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || Ed25519 public key) and the
signature is Ed25519 over the body bytes. Anyone can check one with the public key and a few
lines of code (docs/audit-trail.md shows them with openssl).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ailab.trail.signer import Signer, raw_public, verifies

DASH = "\u2014"
_ORIGIN = re.compile(r"[!-~][ -~]{0,199}")
_TIME = re.compile(r"time (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z)")
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


class NoteError(ValueError):
    """A checkpoint that does not parse or whose signature does not check."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: str

    def body(self) -> bytes:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\ntime {self.time}\n".encode()


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n\x01" + raw_public(key)).digest()[:4]


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note text; the key's name is the log's origin."""
    if not _ORIGIN.fullmatch(checkpoint.origin):
        raise ValueError(f"origin {checkpoint.origin!r} must be printable ASCII without leading space")
    body = checkpoint.body()
    blob = key_id(checkpoint.origin, signer.public_key()) + signer.sign(body)
    return body.decode() + f"\n{DASH} {checkpoint.origin} {base64.b64encode(blob).decode()}\n"


def open_note(text: str, key: Ed25519PublicKey, origin: str | None = None) -> Checkpoint:
    """Parse a signed checkpoint and check its signature by ``key``; NoteError says what is wrong."""
    body, separator, signatures = text.partition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note (no blank line before the signature, or no final newline)")
    lines = body.split("\n")
    if len(lines) != 4:
        raise NoteError("the body is not origin, size, root hash and time")
    name, size_text, root_text, time_line = lines
    if not _ORIGIN.fullmatch(name) or (origin is not None and name != origin):
        raise NoteError(f"origin {name!r} is not this trail's ({origin!r})")
    if not _SIZE.fullmatch(size_text):
        raise NoteError(f"tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        root = b""
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise NoteError("the root hash is not 32 bytes of canonical base64")
    time = _TIME.fullmatch(time_line)
    if time is None:
        raise NoteError("the extension line is not `time <UTC time>`")
    expected_id = key_id(name, key)
    signed = False
    for line in signatures[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or parts[1] != name:
            raise NoteError("a signature line is not `— <name> <base64>`")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            blob = b""
        if not blob or base64.b64encode(blob).decode() != parts[2]:  # one spelling only: unused bits must be zero
            raise NoteError("a signature is not canonical base64")
        if blob[:4] == expected_id:
            if not verifies(key, blob[4:], (body + "\n").encode()):
                raise NoteError("the signature does not verify with the trail's public key (the checkpoint was altered)")
            signed = True
    if not signed:
        raise NoteError("not signed by the trail's public key (signed by another key, or by none)")
    return Checkpoint(name, int(size_text), root, time.group(1))
