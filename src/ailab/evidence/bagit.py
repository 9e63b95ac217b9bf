"""BagIt (RFC 8493) bags in a zip: write one, and check one member by member.

The bag is one top-level directory: ``bagit.txt``, ``bag-info.txt``, ``manifest-sha256.txt`` over
every payload file under ``data/``, and ``tagmanifest-sha256.txt`` over the tag files (README
included). Checking is bounded (member count, sizes) and refuses names that leave the bag.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
MAX_MEMBERS = 10_000
MAX_BYTES = 512 * 1024 * 1024
ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError, EOFError, struct.error)
"""What zipfile raises on damaged bytes (a flipped flag bit reads as encryption: RuntimeError)."""
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries carry no build time: the same bag zips to the same bytes


class BagError(ValueError):
    """The first bad item of a bag (``item`` names the member)."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


class UnreadableBagError(ValueError):
    """Not a zip at all, or beyond the bounds a bag may have."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bag_bytes(name: str, payload: Mapping[str, bytes], info: Mapping[str, str], tags: Mapping[str, bytes]) -> bytes:
    """The zip of a bag called ``name``: ``payload`` paths are relative to ``data/``, ``tags`` are extra tag files."""
    manifest = "".join(f"{sha256(data)}  data/{member}\n" for member, data in sorted(payload.items())).encode()
    oxum = f"{sum(len(d) for d in payload.values())}.{len(payload)}"
    bag_info = "".join(f"{key}: {value}\n" for key, value in {**info, "Payload-Oxum": oxum}.items()).encode()
    tag_files = {"bagit.txt": DECLARATION, "bag-info.txt": bag_info, "manifest-sha256.txt": manifest, **tags}
    tagmanifest = "".join(f"{sha256(data)}  {member}\n" for member, data in sorted(tag_files.items())).encode()
    members = [(f"{name}/{member}", data) for member, data in [*tag_files.items(), ("tagmanifest-sha256.txt", tagmanifest)]]
    members += [(f"{name}/data/{member}", data) for member, data in sorted(payload.items())]
    return zip_bytes(members)


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """The one zip of these members: stored (no compression), fixed times and attributes, so a checker
    can rebuild it byte for byte and any change outside the members (headers, comment) shows."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Bag:
    name: str
    payload: dict[str, bytes]
    """By path relative to ``data/``."""
    tags: dict[str, bytes]
    info: dict[str, str]


def read_bag(path: str) -> Bag:
    """Read and check a zipped bag: BagError names the first member that fails, UnreadableBagError when it is no bag."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            raise UnreadableBagError(f"larger than {MAX_BYTES} bytes")
        with open(path, "rb") as stream:
            raw = stream.read()
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except ZIP_ERRORS as error:
        raise UnreadableBagError(f"not a zip file ({error})") from None
    order: list[tuple[str, bytes]] = []
    with archive:
        infos = archive.infolist()
        if not infos or len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_BYTES:
            raise UnreadableBagError(f"empty, or more than {MAX_MEMBERS} members or {MAX_BYTES} bytes")
        names = {PurePosixPath(i.filename).parts[0] for i in infos}
        if len(names) != 1:
            raise BagError("bag", "not one top-level directory")
        (name,) = names
        files: dict[str, bytes] = {}
        for info in infos:
            relative = info.filename[len(name) + 1 :]
            if info.is_dir():
                continue
            if ".." in PurePosixPath(relative).parts or relative.startswith("/") or "\\" in relative:
                raise BagError(info.filename, "a name that leaves the bag")
            try:
                files[relative] = archive.read(info)
            except ZIP_ERRORS as error:  # a CRC mismatch, a flag or size changed: the bytes were changed
                raise BagError(relative, f"damaged in the zip ({error})") from None
            order.append((info.filename, files[relative]))
    bag = _checked(name, files)
    if zip_bytes(order) != raw:
        raise BagError("zip", "bytes outside the members (headers, comment) differ from the bag as written")
    return bag


def _checked(name: str, files: dict[str, bytes]) -> Bag:
    if files.get("bagit.txt") != DECLARATION:
        raise BagError("bagit.txt", "not the BagIt 1.0 declaration")
    tag_lines = _manifest(files, "tagmanifest-sha256.txt")
    for member, digest in tag_lines.items():
        if member not in files:
            raise BagError(member, "listed in tagmanifest-sha256.txt but missing")
        if sha256(files[member]) != digest:
            raise BagError(member, "its SHA-256 differs from tagmanifest-sha256.txt")
    payload_lines = _manifest(files, "manifest-sha256.txt")
    if "manifest-sha256.txt" not in tag_lines or "bag-info.txt" not in tag_lines:
        raise BagError("tagmanifest-sha256.txt", "does not cover manifest-sha256.txt and bag-info.txt")
    for member in sorted(files):
        if member.startswith("data/"):
            if member not in payload_lines:
                raise BagError(member, "a payload file missing from manifest-sha256.txt (added)")
            if sha256(files[member]) != payload_lines[member]:
                raise BagError(member, "its SHA-256 differs from manifest-sha256.txt")
        elif member not in tag_lines and member != "tagmanifest-sha256.txt":
            raise BagError(member, "a tag file missing from tagmanifest-sha256.txt (added)")
    for member in payload_lines:
        if member not in files:
            raise BagError(member, "listed in manifest-sha256.txt but missing (removed)")
    info = _info(files["bag-info.txt"])
    payload = {m.removeprefix("data/"): d for m, d in files.items() if m.startswith("data/")}
    oxum = f"{sum(len(d) for d in payload.values())}.{len(payload)}"
    if info.get("Payload-Oxum") != oxum:
        raise BagError("bag-info.txt", f"Payload-Oxum says {info.get('Payload-Oxum')}, the payload is {oxum}")
    tags = {m: d for m, d in files.items() if not m.startswith("data/")}
    return Bag(name, payload, tags, info)


def _manifest(files: dict[str, bytes], member: str) -> dict[str, str]:
    if member not in files:
        raise BagError(member, "missing")
    entries: dict[str, str] = {}
    try:
        text = files[member].decode("utf-8")
    except UnicodeDecodeError:
        raise BagError(member, "not UTF-8") from None
    for line in _lines(text, member):
        digest, separator, path = line.partition("  ")
        if not separator or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or path in entries:
            raise BagError(member, f"a line is not '<sha256>  <path>': {line[:80]!r}")
        entries[path] = digest
    return entries


def _info(data: bytes) -> dict[str, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagError("bag-info.txt", "not UTF-8") from None
    info: dict[str, str] = {}
    for line in _lines(text, "bag-info.txt"):
        key, separator, value = line.partition(": ")
        if not separator:
            raise BagError("bag-info.txt", f"a line is not 'Label: value': {line[:80]!r}")
        info[key] = value
    return info


def _lines(text: str, member: str) -> list[str]:
    """Lines ended by LF only (str.splitlines would also split at a vertical tab or a form feed)."""
    if not text.endswith("\n"):
        raise BagError(member, "not newline-terminated")
    return text.split("\n")[:-1]


def bagging_date() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")
