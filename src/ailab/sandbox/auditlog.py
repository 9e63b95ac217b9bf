"""The tamper-evident audit log: JSON lines, each record carrying the SHA-256 of the one before.

A record's ``hash`` is the SHA-256 of its canonical JSON encoding without the ``hash`` key
(sorted keys, no insignificant whitespace, UTF-8), and its ``prev`` is the previous record's
``hash`` (64 zeros for the first). Each line *is* that canonical encoding plus the hash, so
changing any byte of the file either breaks the JSON, changes a hashed value, or makes the line
non-canonical: :func:`verify` names the first record where that happens.

A chain cannot show that records were cut from its end, so every append also rewrites a small
head file (``audit.head``: the last sequence number and hash); :func:`verify` checks the log
reaches it, and an append to a log that ends before its head numbers on from the head, so the
gap outlives the head's next rewrite. Whoever can rewrite both files can forge a history; ship
the log to write-once storage when that matters.

Writers take an exclusive ``fcntl.flock`` on the log for read-last-record + append + fsync, so
concurrent processes interleave whole records and the chain stays valid.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ailab.fsio import atomic_write_text
from ailab.home import sub_dir
from ailab.sandbox.request import iso, utc_now

GENESIS = "0" * 64
LOG_NAME = "audit.log.jsonl"
HEAD_NAME = "audit.head"
FIELDS = ("seq", "time", "actor", "action", "audit_id", "arguments", "verdict", "outcome", "detail", "prev", "hash")
_TAIL_CHUNK = 8192


def canonical(data: Any) -> bytes:
    """The one byte encoding that is hashed and written."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in record.items() if k != "hash"})).hexdigest()


def actor() -> dict[str, Any]:
    """Who acts: the login name (and who they sudo'ed from), the host and the process."""
    who: dict[str, Any] = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid()}
    if os.environ.get("SUDO_USER"):
        who["sudo_user"] = os.environ["SUDO_USER"]
    return who


def default_path() -> Path:
    return sub_dir("audit") / LOG_NAME


@dataclass(frozen=True)
class Break:
    """Where and why the chain is broken: ``seq`` is the 1-based record (line) number."""

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.reason}"


class AuditLog:
    """Append to and read one log file (default: ``<data dir>/audit/audit.log.jsonl``)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.head_path = self.path.with_name(HEAD_NAME)

    def append(
        self,
        action: str,
        *,
        audit_id: str | None,
        arguments: dict[str, Any],
        outcome: str,
        verdict: dict[str, Any] | None = None,
        detail: str | None = None,
    ) -> dict[str, Any]:
        """Append one record under an exclusive lock and return it (with its ``seq`` and ``hash``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_record(fd)
            # Numbered on from the head when the log ends before it (records were cut): the gap stays for verify to name.
            head = _parse_head(self._head_text() or "")
            record: dict[str, Any] = {
                "seq": max(last["seq"] if last else 0, head[0] if head else 0) + 1,
                "time": iso(utc_now()),
                "actor": actor(),
                "action": action,
                "audit_id": audit_id,
                "arguments": arguments,
                "verdict": verdict,
                "outcome": outcome,
                "detail": detail,
                "prev": last["hash"] if last else GENESIS,
            }
            record["hash"] = record_hash(record)
            os.write(fd, canonical(record) + b"\n")
            os.fsync(fd)
            atomic_write_text(self.head_path, json.dumps({"seq": record["seq"], "hash": record["hash"]}) + "\n", mode=0o600)
            return record
        finally:
            os.close(fd)  # closing releases the lock

    def records(self) -> Iterator[dict[str, Any]]:
        """Every record that parses (for display; :func:`verify` judges integrity)."""
        if not self.path.exists():
            return
        with self.path.open("rb") as stream:
            for line in stream:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record

    def verify(self) -> tuple[int, Break | None]:
        """The number of intact records and the first break, if any.

        The log and its head file are read under one shared lock: a writer holds the exclusive
        lock while it appends a record and rewrites the head, so the two are read as they agree.
        A missing log is read as an empty one (created, to be locked), so a head that outlives
        its log says records were removed.
        """
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o600)
        except FileNotFoundError:  # no directory: neither log nor head
            return 0, None
        with os.fdopen(fd, "rb") as stream:
            fcntl.flock(fd, fcntl.LOCK_SH)
            data = stream.read()
            head = self._head_text()
        count, broken = verify_bytes(data)
        if broken is None:
            broken = self._check_head(count, data, head)
        return count, broken

    def _head_text(self) -> str | None:
        try:
            return self.head_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def _check_head(self, count: int, data: bytes, text: str | None) -> Break | None:
        if text is None:
            return Break(count, f"the head file {self.head_path.name} is missing") if count else None
        head = _parse_head(text)
        if head is None:
            return Break(count + 1, f"the head file {self.head_path.name} is unreadable")
        seq, expected = head
        if seq > count:
            return Break(
                count + 1, f"missing: the head file says the log has {seq} records, it ends after {count} (records were removed)"
            )
        line = data.splitlines()[seq - 1] if seq else b""
        if seq and json.loads(line).get("hash") != expected:
            return Break(seq, "does not match the head file (the log was rewritten)")
        return None


def _parse_head(text: str) -> tuple[int, str] | None:
    """The head file's ``seq`` and ``hash``; None when it is not a head file a writer made."""
    try:
        head = json.loads(text)
        seq, expected = int(head["seq"]), str(head["hash"])
    except (ValueError, KeyError, TypeError, OverflowError):  # OverflowError: a seq of 1e999
        return None
    return (seq, expected) if seq >= 0 else None


def verify_bytes(data: bytes) -> tuple[int, Break | None]:
    """Check a whole log's bytes: every line canonical, hashed correctly, chained and numbered in order."""
    if not data:
        return 0, None
    lines = data.split(b"\n")
    complete, rest = lines[:-1], lines[-1]
    previous = GENESIS
    for index, line in enumerate(complete, start=1):
        broken = _check_line(index, line, previous)
        if broken is not None:
            return index - 1, broken
        previous = json.loads(line)["hash"]
    if rest:
        return len(complete), Break(len(lines), "the last record is not terminated by a newline (truncated or appended to)")
    return len(complete), None


def _check_line(seq: int, line: bytes, previous: str) -> Break | None:
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        return Break(seq, f"not a JSON record ({err})")
    if not isinstance(record, dict) or tuple(sorted(record)) != tuple(sorted(FIELDS)):
        return Break(seq, "not an audit record (fields added, removed or renamed)")
    if canonical(record) != line:
        return Break(seq, "not in canonical form (the line was edited)")
    if record["seq"] != seq:
        return Break(seq, f"out of sequence (says {record['seq']!r}): a record was removed, inserted or reordered")
    if record["prev"] != previous:
        return Break(seq, "does not chain to the record before it")
    if record["hash"] != record_hash(record):
        return Break(seq, "its hash does not match its content (the record was changed)")
    return None


def _last_record(fd: int) -> dict[str, Any] | None:
    """The last line of the open log, read backwards in chunks; None for an empty log."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return None
    tail = b""
    position = size
    while position > 0:
        step = min(_TAIL_CHUNK, position)
        position -= step
        tail = os.pread(fd, step, position) + tail
        if tail.rstrip(b"\n").count(b"\n") >= 1:
            break
    line = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("seq"), int) or not isinstance(record.get("hash"), str):
        # A damaged last line: keep appending in order after it, verify will name it.
        return {"seq": _line_count(fd), "hash": hashlib.sha256(line).hexdigest()}
    return record


def _line_count(fd: int) -> int:
    """How many newline-terminated lines the open log has."""
    size = os.lseek(fd, 0, os.SEEK_END)
    return os.pread(fd, size, 0).count(b"\n")
