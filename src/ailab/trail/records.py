"""The audit record: its fields, how one is built, and the strict check every stored record passes.

A record is one JSON object with exactly these members, stored as its RFC 8785 encoding on one line:
``seq`` (1-based position), ``time`` (UTC), ``actor`` (user, host, pid, and who they sudo'ed from),
``action``, ``audit_id``, ``arguments``, ``verdict`` (the policy verdict that gated it, or null),
``outcome``, ``detail`` and ``hashes`` (``sha256:`` content hashes of the plans, reports and runs
the operation produced, by name). :func:`problem` is deliberately strict: a boolean ``seq``, a
string actor or a list verdict is a malformed record even when the tree over it is consistent.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from datetime import UTC, datetime
from typing import Any

FIELDS = frozenset(("seq", "time", "actor", "action", "audit_id", "arguments", "verdict", "outcome", "detail", "hashes"))
ACTOR_FIELDS = frozenset(("user", "host", "pid", "sudo_user"))
_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?Z")
_ACTION = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")
MAX_TEXT = 4096


def utc_time(moment: datetime | None = None) -> str:
    """``2026-12-06T21:30:00.123456Z``: the one spelling of a moment in records and checkpoints."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The moment a record or checkpoint names (ValueError for another spelling or an impossible date)."""
    found = _TIME.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a UTC time like 2026-12-06T21:30:00Z")
    *fields, fraction = found.groups()
    year, month, day, hour, minute, second = map(int, fields)
    return datetime(year, month, day, hour, minute, second, int((fraction or "0").ljust(6, "0")), tzinfo=UTC)


def actor() -> dict[str, Any]:
    """Who acts: the login name (and who they sudo'ed from), the host and the process."""
    who: dict[str, Any] = {"user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid()}
    if os.environ.get("SUDO_USER"):
        who["sudo_user"] = os.environ["SUDO_USER"]
    return who


def problem(record: Any, seq: int) -> str | None:
    """Why ``record`` is not a well-formed record at position ``seq``; None when it is."""
    if not isinstance(record, dict):
        return f"not a JSON object but {_kind(record)}"
    if record.keys() != FIELDS:
        missing, extra = sorted(FIELDS - record.keys()), sorted(record.keys() - FIELDS)
        said = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        return "fields " + "; ".join(said)
    if type(record["seq"]) is not int:
        return f"seq is {_kind(record['seq'])}, not an integer"
    if record["seq"] != seq:
        return f"out of sequence (says {record['seq']}): a record was removed, inserted or reordered"
    time = record["time"]
    if not isinstance(time, str) or not _TIME.fullmatch(time):
        return f"time is {_kind(time)}, not a UTC time like 2026-12-06T21:30:00Z"
    try:
        parse_time(time)
    except ValueError:
        return f"time {time!r} is not a real date"
    who = record["actor"]
    if not isinstance(who, dict):
        return f"actor is {_kind(who)}, not an object"
    if not {"user", "host", "pid"} <= who.keys() <= ACTOR_FIELDS:
        return "actor does not have exactly user, host, pid (and optionally sudo_user)"
    if not all(isinstance(who[k], str) and who[k] for k in who.keys() - {"pid"}) or type(who["pid"]) is not int:
        return "actor's user, host and sudo_user must be non-empty strings and pid an integer"
    if not isinstance(record["action"], str) or not _ACTION.fullmatch(record["action"]):
        return f"action is {_kind(record['action'])}, not a dotted name like sandbox.create"
    for name in ("audit_id", "detail"):
        if record[name] is not None and not isinstance(record[name], str):
            return f"{name} is {_kind(record[name])}, not a string or null"
    if not isinstance(record["outcome"], str) or not record["outcome"]:
        return f"outcome is {_kind(record['outcome'])}, not a non-empty string"
    if not isinstance(record["arguments"], dict):
        return f"arguments is {_kind(record['arguments'])}, not an object"
    if record["verdict"] is not None and not isinstance(record["verdict"], dict):
        return f"verdict is {_kind(record['verdict'])}, not an object or null"
    hashes = record["hashes"]
    if not isinstance(hashes, dict) or not all(isinstance(v, str) and _HASH.fullmatch(v) for v in hashes.values()):
        return "hashes is not an object of sha256:<64 hex> values"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    names = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
