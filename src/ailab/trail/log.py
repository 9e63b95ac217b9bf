"""The lab's audit trail: an append-only RFC 9162 Merkle log with signed, chained checkpoints.

One directory (default ``<data dir>/audit/``) holds:

``records.jsonl``
    one record per line, each line its RFC 8785 encoding; the line's bytes are the Merkle leaf.
``checkpoints.jsonl``
    one signed checkpoint per line: the C2SP signed note, the RFC 9162 consistency proof from the
    checkpoint before it (null for the first) and the RFC 3161 token over the note (or null).
``leaves.bin``
    the leaf hashes, 32 bytes each: a cache for writers, rebuilt from the records when it disagrees
    and never trusted by :meth:`AuditLog.verify`.
``trail.lock``
    writers hold it exclusively for append + checkpoint, readers shared.

A checkpoint is signed after every append (or every ``checkpoint_every``), so a record that is
changed, removed or inserted no longer matches a signed root, a record appended by hand is not
covered by one, and rewriting history needs the signing key. What a key holder, or someone who cuts
the records *and* the checkpoints together, can still do is caught only by a copy they cannot
reach: a pinned checkpoint (``--checkpoint``) or the write-once store (docs/audit-trail.md).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ailab.errors import BadInputError, OperationFailedError
from ailab.fsio import atomic_write_bytes
from ailab.home import sub_dir
from ailab.trail import merkle
from ailab.trail.jcs import NotCanonicalizableError, canonical_value, canonicalize
from ailab.trail.note import Checkpoint, NoteError, open_note, sign
from ailab.trail.records import actor, parse_time, problem, utc_time
from ailab.trail.signer import LocalKeySigner, Signer
from ailab.trail.store import ObjectStore

RECORDS = "records.jsonl"
CHECKPOINTS = "checkpoints.jsonl"
LEAVES = "leaves.bin"
LOCK = "trail.lock"
DEFAULT_ORIGIN = "ailab.audit-trail"
CLOCK_SKEW = timedelta(minutes=5)
"""How far clocks of two writers of one trail may disagree before a time going backwards is a finding."""
MAX_LINE = 1024 * 1024
STORE_RECORDS = "records/"
STORE_CHECKPOINTS = "checkpoints/"
CHECKPOINT_FIELDS = frozenset(("note", "consistency", "timestamp"))


class TrailBrokenError(OperationFailedError):
    """The trail on disk no longer extends its last signed checkpoint: nothing more is signed until it is looked at."""


class Timestamper(Protocol):
    """An RFC 3161 time-stamping authority: a DER TimeStampResp over ``data``."""

    def stamp(self, data: bytes) -> bytes: ...


class TimestampChecker(Protocol):
    """Checks a token over ``data`` against trusted roots and returns its genTime (UTC text) or raises ValueError."""

    def check(self, data: bytes, token: bytes) -> str: ...


@dataclass(frozen=True)
class Problem:
    """The first failing item (``record 5``, ``checkpoint 2``, ``trail``) and why."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    records: int
    checkpoints: int
    timestamps: int
    problem: Problem | None


@dataclass(frozen=True)
class Entry:
    """A stored record as read for display: ``record`` is None and ``problem`` set when it is malformed."""

    seq: int
    record: dict[str, Any] | None
    problem: str | None


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    note: str
    consistency: list[bytes] | None
    timestamp: bytes | None


def default_directory() -> Path:
    return sub_dir("audit")


class AuditLog:
    """Append to, read and verify one trail directory."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        signer: Signer | None = None,
        origin: str = DEFAULT_ORIGIN,
        checkpoint_every: int = 1,
        timestamper: Timestamper | None = None,
        store: ObjectStore | None = None,
    ) -> None:
        self.directory = directory or default_directory()
        self.path = self.directory / RECORDS
        self.checkpoints_path = self.directory / CHECKPOINTS
        self.leaves_path = self.directory / LEAVES
        self.origin = origin
        self.checkpoint_every = max(1, checkpoint_every)
        if directory is None:  # the lab's own trail: signed, copied and timestamped as configured
            from ailab.trail.settings import signer_from_environment, store_from_environment, timestamper_from_environment

            signer = signer or signer_from_environment()
            store = store or store_from_environment()
            timestamper = timestamper or timestamper_from_environment()
        self.signer: Signer = signer or LocalKeySigner()
        self.timestamper = timestamper
        self.store = store

    def missing_local_key(self) -> LocalKeySigner | None:
        """The local key the trail signs with, when it does not exist (yet, or any more); else None."""
        return self.signer if isinstance(self.signer, LocalKeySigner) and not self.signer.exists() else None

    # -- writing ---------------------------------------------------------------------------------

    def append(
        self,
        action: str,
        *,
        audit_id: str | None,
        arguments: dict[str, Any],
        outcome: str,
        verdict: dict[str, Any] | None = None,
        detail: str | None = None,
        hashes: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Append one record (and sign a checkpoint over it) under the exclusive lock; return the record."""
        with self._locked(fcntl.LOCK_EX):
            count = self._sync_leaves()
            record: dict[str, Any] = {
                "seq": count + 1,
                "time": utc_time(),
                "actor": actor(),
                "action": action,
                "audit_id": audit_id,
                "arguments": _jsonable(arguments),
                "verdict": _jsonable(verdict),
                "outcome": outcome,
                "detail": detail,
                "hashes": dict(hashes or {}),
            }
            wrong = problem(record, record["seq"])
            if wrong is not None:  # a caller's bug: never write a record verify would call malformed
                raise ValueError(f"audit record for {action!r}: {wrong}")
            line = canonicalize(record)
            _append(self.path, line + b"\n")
            _append(self.leaves_path, merkle.leaf_hash(line))  # a cache: never synced, rebuilt when it disagrees
            if record["seq"] % self.checkpoint_every == 0:
                # Records reach the disk when a checkpoint signs them (every append by default).
                _sync(self.path)
                self._publish(self._sign_checkpoint())
            return record

    def checkpoint(self) -> SignedCheckpoint | None:
        """Sign a checkpoint over every record now (if any is not yet covered); return the latest."""
        with self._locked(fcntl.LOCK_EX):
            if self._sync_leaves():
                self._publish(self._sign_checkpoint())
            return self._last_checkpoint()

    def _sign_checkpoint(self) -> list[bytes]:
        """Sign a checkpoint over every leaf unless the last one covers them all; the leaves, for :meth:`_publish`."""
        last = self._last_checkpoint()
        leaves = self._read_leaves()
        extended = _extension(last, leaves)
        if extended is None:  # the cache may be what was damaged: judge the records themselves before refusing
            leaves = self.leaves()
            atomic_write_bytes(self.leaves_path, b"".join(leaves), mode=0o600)
            extended = _extension(last, leaves)
        if extended is None:
            size = last.checkpoint.size if last is not None else 0
            raise TrailBrokenError(
                f"{self.directory}: the trail no longer extends its last signed checkpoint ({size} records); "
                "the record was written but nothing was signed: run `ailab audit verify` and restore the trail"
            )
        new_root, proof = extended
        size = len(leaves)
        if last is not None and last.checkpoint.size == size:
            return leaves
        checkpoint = Checkpoint(self.origin, size, new_root, utc_time())
        note = sign(checkpoint, self.signer)
        token = self.timestamper.stamp(note.encode()) if self.timestamper is not None else None
        entry = {
            "note": note,
            "consistency": None if proof is None else [base64.b64encode(p).decode() for p in proof],
            "timestamp": None if token is None else base64.b64encode(token).decode(),
        }
        _append(self.checkpoints_path, canonicalize(entry) + b"\n", synced=True)
        return leaves

    def _publish(self, leaves: list[bytes]) -> None:
        """Copy the checkpoints the store lacks, and the records they cover (``leaves``: the trail's), to the store."""
        if self.store is None:
            return
        stored = self.store_checkpoint()
        top = 0
        if stored is not None:
            witness = _parse_checkpoint(stored[1], self.signer.public_key(), self.origin).checkpoint
            if witness.size > len(leaves) or merkle.root(leaves[: witness.size]) != witness.root:
                raise TrailBrokenError(
                    f"{self.store.describe()}: the store's checkpoint of {witness.size} records is not a prefix of the "
                    "local trail (it was cut or rewritten); nothing more is copied: run `ailab audit verify`"
                )
            top = witness.size
        # Only the tails are read: what the store lacks is what was appended since its last copy.
        wanted = 1
        while True:
            tail = _tail_lines(self.checkpoints_path, wanted)
            if len(tail) < wanted or _note_size(tail[0]) <= top:
                break
            wanted *= 2
        key = self.signer.public_key()
        pending = [(line, _parse_checkpoint(line, key, self.origin)) for line in tail if _note_size(line) > top]
        if not pending:
            return
        last = pending[-1][1].checkpoint.size
        count = self.leaves_path.stat().st_size // 32
        for offset, line in enumerate(_tail_lines(self.path, count - top)[: last - top]):
            seq = top + 1 + offset
            self._put(f"{STORE_RECORDS}{seq:012d}.json", line, f"record {seq}")
        for line, signed in pending:
            self._put(f"{STORE_CHECKPOINTS}{signed.checkpoint.size:012d}.json", line, f"checkpoint of {signed.checkpoint.size}")

    def _put(self, key: str, data: bytes, what: str) -> None:
        assert self.store is not None
        existing = self.store.put_once(key, data)
        if existing is not None and existing != data:
            raise TrailBrokenError(
                f"{self.store.describe()}: the store's copy of {what} differs from the local trail's "
                "(the local trail was rewritten): run `ailab audit verify`"
            )

    def store_checkpoint(self) -> tuple[str, bytes] | None:
        """The latest checkpoint entry in the store (its key and bytes), if there is a store and it holds one."""
        if self.store is None:
            return None
        keys = self.store.keys(STORE_CHECKPOINTS)
        if not keys:
            return None
        latest = max(keys, key=_number)
        data = self.store.first(latest)
        return (latest, data) if data is not None else None

    def _sync_leaves(self) -> int:
        """Make the leaf cache agree with the records (rebuilding it when it does not); return the record count."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        records_size = self.path.stat().st_size if self.path.exists() else 0
        leaves_size = self.leaves_path.stat().st_size if self.leaves_path.exists() else 0
        last_line, ends_cleanly = _last_line(self.path) if records_size else (b"", True)
        if not ends_cleanly:  # a writer died mid-line: end it, so the fragment stays a (malformed) record of its own
            _append(self.path, b"\n", synced=True)
        agrees = ends_cleanly and leaves_size % 32 == 0 and (records_size == 0) == (leaves_size == 0)
        if agrees and (leaves_size == 0 or _read_at(self.leaves_path, leaves_size - 32, 32) == merkle.leaf_hash(last_line)):
            return leaves_size // 32
        hashes = [merkle.leaf_hash(line) for line in _lines(self.path)]
        atomic_write_bytes(self.leaves_path, b"".join(hashes), mode=0o600)
        return len(hashes)

    def _read_leaves(self) -> list[bytes]:
        data = self.leaves_path.read_bytes() if self.leaves_path.exists() else b""
        return [data[i : i + 32] for i in range(0, len(data), 32)]

    def _last_checkpoint(self) -> SignedCheckpoint | None:
        if not self.checkpoints_path.exists() or self.checkpoints_path.stat().st_size == 0:
            return None
        line, _ = _last_line(self.checkpoints_path)
        try:
            return _parse_checkpoint(line, self.signer.public_key(), self.origin)
        except ValueError as error:
            raise TrailBrokenError(
                f"{self.checkpoints_path}: the last checkpoint is damaged ({error}); nothing was signed: "
                "run `ailab audit verify` and restore the trail"
            ) from None

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise BadInputError(f"{self.directory}: cannot open the trail ({error.strerror or error})") from None
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------------------------

    def records(self) -> Iterator[dict[str, Any]]:
        """The well-formed stored records in order (:meth:`verify` judges integrity, :meth:`entries` shows the rest)."""
        for entry in self.entries():
            if entry.record is not None:
                yield entry.record

    def entries(self) -> Iterator[Entry]:
        """Every stored record in order, malformed ones included (with what is wrong), for display."""
        if not self.path.is_file():
            return
        for seq, line in enumerate(_lines(self.path), start=1):
            try:
                record = json.loads(line)
            except ValueError as error:
                yield Entry(seq, None, f"not JSON ({error})")
                continue
            reason = problem(record, seq)
            yield Entry(seq, None if reason else record, reason)

    def checkpoints(self, key: Ed25519PublicKey | None = None) -> list[SignedCheckpoint]:
        """The stored checkpoints, each checked against ``key`` (default: the signer's); ValueError names the first bad one."""
        if not self.checkpoints_path.is_file():
            return []
        public = key or self.signer.public_key()
        result = []
        for index, line in enumerate(_lines(self.checkpoints_path), start=1):
            try:
                result.append(_parse_checkpoint(line, public, self.origin))
            except ValueError as error:
                raise ValueError(f"checkpoint {index}: {error}") from None
        return result

    def leaves(self) -> list[bytes]:
        """The leaf hashes recomputed from the records (for proofs handed to others)."""
        return [merkle.leaf_hash(line) for line in _lines(self.path)] if self.path.is_file() else []

    # -- verifying -------------------------------------------------------------------------------

    def verify(
        self,
        key: Ed25519PublicKey | None = None,
        *,
        pinned: Checkpoint | None = None,
        timestamps: TimestampChecker | None = None,
    ) -> Verification:
        """Check every record, checkpoint signature, consistency proof, root and time; name the first failure.

        ``key`` is the pinned public key (default: the local signer's), ``pinned`` a checkpoint saved
        earlier that this trail must still extend (as must the store's latest checkpoint, when there
        is a store), ``timestamps`` checks the RFC 3161 tokens.
        """
        exists, pinned_key = self.directory.is_dir(), key is not None
        if key is None:
            if (missing := self.missing_local_key()) is not None:
                empty = not exists or not (self.path.exists() or self.checkpoints_path.exists())
                reason = f"the signing key {missing.path} is missing; pass the pinned public key with --key"
                return Verification(0, 0, 0, None if empty and self.store is None else Problem("trail", reason))
            key = self.signer.public_key()
        witnesses = [("the pinned checkpoint", pinned)] if pinned is not None else []
        stored = self.store_checkpoint()
        if stored is not None:
            try:
                witnesses.append(("the store's checkpoint", _parse_checkpoint(stored[1], key, self.origin).checkpoint))
            except ValueError as error:
                return Verification(0, 0, 0, Problem("store", f"{stored[0]}: {error}"))
        if not exists:
            if witnesses or pinned_key:
                return Verification(0, 0, 0, Problem("trail", f"{self.directory} does not exist (the trail was removed)"))
            return Verification(0, 0, 0, None)
        with self._locked(fcntl.LOCK_SH):
            return _Verifier(self, key, witnesses, timestamps).run()


class _Verifier:
    def __init__(
        self,
        log: AuditLog,
        key: Ed25519PublicKey,
        witnesses: list[tuple[str, Checkpoint]],
        timestamps: TimestampChecker | None,
    ) -> None:
        self.log = log
        self.key = key
        self.witnesses = witnesses
        self.timestamps = timestamps
        self.stamped = 0

    def run(self) -> Verification:
        try:
            checkpoints, broken = self._checkpoints()
        except OSError as error:
            return Verification(0, 0, 0, Problem("trail", f"{self.log.checkpoints_path}: unreadable ({error})"))
        if broken is not None:
            return Verification(0, len(checkpoints), self.stamped, broken)
        try:
            count, broken = self._records(checkpoints)
        except OSError as error:
            return Verification(0, len(checkpoints), self.stamped, Problem("trail", f"{self.log.path}: unreadable ({error})"))
        if broken is None:
            broken = self._coverage(count, checkpoints)
        return Verification(count, len(checkpoints), self.stamped, broken)

    def _checkpoints(self) -> tuple[list[SignedCheckpoint], Problem | None]:
        checkpoints: list[SignedCheckpoint] = []
        if not self.log.checkpoints_path.exists():
            return checkpoints, None
        previous: SignedCheckpoint | None = None
        for index, line in enumerate(_lines(self.log.checkpoints_path, strict=True), start=1):
            item = f"checkpoint {index}"
            if line is None:
                return checkpoints, Problem(item, "the line is too long or not terminated (truncated or appended to)")
            try:
                current = _parse_checkpoint(line, self.key, self.log.origin)
            except ValueError as error:
                return checkpoints, Problem(item, str(error))
            reason = self._chained(previous, current) or self._timestamp(current)
            if reason is not None:
                return checkpoints, Problem(item, reason)
            checkpoints.append(current)
            previous = current
        return checkpoints, None

    def _chained(self, previous: SignedCheckpoint | None, current: SignedCheckpoint) -> str | None:
        new = current.checkpoint
        if previous is None:
            if current.consistency is not None:
                return "the first checkpoint carries a consistency proof (checkpoints before it were removed)"
            return None
        old = previous.checkpoint
        if current.consistency is None:
            return "no consistency proof from the checkpoint before it"
        if new.size < old.size:
            return f"signs {new.size} records, fewer than the {old.size} the checkpoint before it signed"
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, current.consistency):
            return "its consistency proof from the checkpoint before it does not verify (history was rewritten between them)"
        if parse_time(new.time) < parse_time(old.time) - CLOCK_SKEW:
            return f"signed at {new.time}, before the checkpoint before it ({old.time})"
        return None

    def _timestamp(self, current: SignedCheckpoint) -> str | None:
        if current.timestamp is None or self.timestamps is None:
            return None
        try:
            stamped_at = self.timestamps.check(current.note.encode(), current.timestamp)
        except ValueError as error:
            return f"its RFC 3161 timestamp does not verify ({error})"
        if abs(parse_time(stamped_at) - parse_time(current.checkpoint.time)) > CLOCK_SKEW:
            return f"signed at {current.checkpoint.time} but timestamped at {stamped_at} (signed later than it claims)"
        self.stamped += 1
        return None

    def _records(self, checkpoints: list[SignedCheckpoint]) -> tuple[int, Problem | None]:
        by_size: dict[int, list[tuple[str, Checkpoint]]] = {}
        for index, signed in enumerate(checkpoints, start=1):
            by_size.setdefault(signed.checkpoint.size, []).append((f"checkpoint {index}", signed.checkpoint))
        for name, witness in self.witnesses:
            by_size.setdefault(witness.size, []).append((name, witness))
        tree = _CompactRange()
        matched = 0  # the size of the last checkpoint the records matched
        count = 0
        if 0 in by_size:
            for name, checkpoint in by_size[0]:
                if checkpoint.root != merkle.EMPTY_ROOT:
                    return 0, Problem(name, "signs 0 records but not the empty tree's root")
        if not self.log.path.exists():
            return 0, None
        for seq, line in enumerate(_lines(self.log.path, strict=True), start=1):
            if line is None:
                return count, Problem(f"record {seq}", "the line is too long or not terminated (truncated or appended to)")
            reason, time = _record_problem(line, seq)
            if reason is not None:
                return count, Problem(f"record {seq}", reason)
            tree.append(merkle.leaf_hash(line))
            count = seq
            for name, checkpoint in by_size.get(seq, ()):
                if tree.root() != checkpoint.root:
                    # A witness vouches for its whole prefix; the trail's own checkpoints for what they added.
                    first = matched + 1 if name.startswith("checkpoint") else 1
                    single = first == seq
                    return count, Problem(
                        f"record {seq}" if single else f"records {first}-{seq}",
                        f"{'does' if single else 'do'} not match {name}'s signed root "
                        "(changed, removed or inserted after it was signed)",
                    )
                if time is not None and parse_time(time) > parse_time(checkpoint.time) + CLOCK_SKEW:
                    return count, Problem(f"record {seq}", f"dated {time}, after {name} that signed it ({checkpoint.time})")
            if seq in by_size:
                matched = seq
        return count, None

    def _coverage(self, count: int, checkpoints: list[SignedCheckpoint]) -> Problem | None:
        signed = checkpoints[-1].checkpoint.size if checkpoints else 0
        for name, witness in self.witnesses:
            if witness.size > count:
                return Problem(
                    f"record {count + 1}",
                    f"missing: {name} signed {witness.size} records, the trail has {count} (records were cut)",
                )
        if signed > count:
            return Problem(
                f"record {count + 1}",
                f"missing: checkpoint {len(checkpoints)} signed {signed} records, the trail has {count} (records were cut)",
            )
        if signed < count:
            return Problem(
                f"record {signed + 1}",
                "not covered by any signed checkpoint (added by hand, or its writer stopped before signing: "
                "`ailab audit checkpoint` signs genuine ones)",
            )
        if count == 0:
            return Problem("trail", "no records although the trail has a signing key: records and checkpoints were removed")
        return None


def _number(key: str) -> int:
    """The size or sequence number a store key names (``checkpoints/000000000042.json``: 42); 0 for a stranger."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".json")
    return int(stem) if stem.isdigit() else 0


def _extension(last: SignedCheckpoint | None, leaves: list[bytes]) -> tuple[bytes, list[bytes] | None] | None:
    """The new root and the consistency proof from ``last`` to it; None when the leaves do not extend ``last``."""
    new_root = merkle.root(leaves)
    if last is None:
        return new_root, None
    old = last.checkpoint
    if old.size > len(leaves):
        return None
    proof = merkle.consistency_proof(old.size, leaves) if old.size else []
    return (new_root, proof) if merkle.verify_consistency(old.size, len(leaves), old.root, new_root, proof) else None


class _CompactRange:
    """The perfect subtrees covering the leaves so far: the root of any prefix in O(log n) memory."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.hashes: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        size, node = 1, leaf
        while self.sizes and self.sizes[-1] == size:
            node = merkle.node_hash(self.hashes.pop(), node)
            size += self.sizes.pop()
        self.sizes.append(size)
        self.hashes.append(node)

    def root(self) -> bytes:
        if not self.hashes:
            return merkle.EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = merkle.node_hash(left, node)
        return node


def _record_problem(line: bytes, seq: int) -> tuple[str | None, str | None]:
    """Why a stored line is not a canonical, well-formed record (and its time when it is)."""
    try:
        record = canonical_value(line)
    except NotCanonicalizableError as error:
        return f"has no canonical form ({error})", None
    except ValueError:
        try:
            loose = json.loads(line)
        except ValueError as error:
            return f"not a JSON record ({error})", None
        # A malformed record says what is wrong with it before how it is spelt.
        return problem(loose, seq) or "not in RFC 8785 canonical form (the line was edited)", None
    reason = problem(record, seq)
    return (reason, None) if reason is not None else (None, record["time"])


def _parse_checkpoint(line: bytes, key: Ed25519PublicKey, origin: str) -> SignedCheckpoint:
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise ValueError(f"not a JSON checkpoint entry ({error})") from None
    if not isinstance(entry, dict) or entry.keys() != CHECKPOINT_FIELDS:
        raise ValueError("not a checkpoint entry (note, consistency, timestamp)")
    if not isinstance(entry["note"], str):
        raise ValueError("its note is not text")
    try:
        checkpoint = open_note(entry["note"], key, origin)
    except NoteError as error:
        raise ValueError(str(error)) from None
    consistency = entry["consistency"]
    proof: list[bytes] | None = None
    if consistency is not None:
        if not isinstance(consistency, list) or not all(isinstance(p, str) for p in consistency):
            raise ValueError("its consistency proof is not a list of base64 hashes")
        proof = [_b64(p, 32) for p in consistency]
    token = entry["timestamp"]
    if token is not None and not isinstance(token, str):
        raise ValueError("its timestamp is not base64 text")
    stamp = None if token is None else _b64(token, None)
    if canonicalize(entry) != line:
        raise ValueError("not in RFC 8785 canonical form (the line was edited)")
    return SignedCheckpoint(checkpoint, entry["note"], proof, stamp)


def _b64(text: str, length: int | None) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        data = None
    if data is None or base64.b64encode(data).decode() != text:
        raise ValueError("a value is not canonical base64")
    if length is not None and len(data) != length:
        raise ValueError(f"a hash is {len(data)} bytes, not {length}")
    return data


def content_hash(document: Any) -> str:
    """``sha256:<hex>`` of a JSON document's RFC 8785 form: what a record's ``hashes`` hold for a plan or report."""
    return "sha256:" + hashlib.sha256(canonicalize(_jsonable(document))).hexdigest()


def _jsonable(value: Any) -> Any:
    """What a caller passed, as JSON the record can hold exactly (anything else is kept as its text)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 else str(value)
    if isinstance(value, float):
        try:
            canonicalize(value)
        except NotCanonicalizableError:
            return str(value)
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _append(path: Path, data: bytes, *, synced: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, data)
        if synced:
            os.fdatasync(fd)
    finally:
        os.close(fd)


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def _read_at(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(offset)
        return stream.read(length)


def _last_line(path: Path) -> tuple[bytes, bool]:
    """The last line of a file (without its newline) and whether the file ends with one."""
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        position, tail = size, b""
        while position > 0 and tail.rstrip(b"\n").count(b"\n") < 1:
            step = min(8192, position)
            position -= step
            stream.seek(position)
            tail = stream.read(step) + tail
    ends = tail.endswith(b"\n")
    return tail.rstrip(b"\n").rsplit(b"\n", 1)[-1] if ends else tail.rsplit(b"\n", 1)[-1], ends


def _tail_lines(path: Path, count: int) -> list[bytes]:
    """The last ``count`` newline-terminated lines of a file (fewer if it has fewer), read backwards."""
    if count <= 0 or not path.exists():
        return []
    with path.open("rb") as stream:
        position = stream.seek(0, os.SEEK_END)
        tail = b""
        while position > 0 and tail.count(b"\n") <= count:
            step = min(1 << 20, position)
            position -= step
            stream.seek(position)
            tail = stream.read(step) + tail
    lines = tail.split(b"\n")[:-1]  # the part after the last newline is not a line yet
    return lines[-count:]  # when the file was not read to its start, the first piece is a cut line: never reached


def _note_size(line: bytes) -> int:
    """The tree size a stored checkpoint line claims, unverified (to find where the store's copies end)."""
    try:
        return int(json.loads(line)["note"].split("\n")[1])
    except (ValueError, KeyError, TypeError, IndexError):
        return 1 << 62  # unreadable: treated as pending, so verifying it names the damage


def _lines(path: Path, *, strict: bool = False) -> Iterator[Any]:
    """The lines of a file without newlines, each read with a bound; with ``strict``, a bad line yields None and ends it."""
    with path.open("rb") as stream:
        yield from _bounded_lines(stream, strict)


def _bounded_lines(stream: BinaryIO, strict: bool) -> Iterator[bytes | None]:
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if not line.endswith(b"\n"):
            if strict:
                yield None
                return
            yield line
            continue
        yield line[:-1]
