"""Build and check one audit's evidence bundle.

Building: the trail is verified, the audit's payload (its sandbox requests and verdicts as
recorded, OSCAL assessment results) is hashed into one more signed record, ``evidence.bundle``,
and the bag holds the audit's records only, each with its RFC 9162 inclusion proof against the
signed (and, when configured, RFC 3161-timestamped) checkpoint that covers the bundle record.
Checking needs only the bundle and the pinned public key: BagIt manifests, the checkpoint
signature, every inclusion proof, every record's audit id, and the bundle record's hashes of the
payload, so a bag re-hashed after an edit is still caught.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ailab.errors import BadInputError, OperationFailedError
from ailab.evidence.bagit import Bag, BagError, bag_bytes, bagging_date, read_bag, sha256
from ailab.evidence.oscal import assessment_results
from ailab.evidence.readme import readme
from ailab.fsio import atomic_write_bytes
from ailab.trail import AuditLog, merkle
from ailab.trail.jcs import canonical_value, canonicalize
from ailab.trail.log import TimestampChecker
from ailab.trail.note import NoteError, open_note
from ailab.trail.records import problem, utc_time
from ailab.trail.signer import public_pem

FORMAT = "ailab.evidence-bundle/1"
BUNDLE_ACTION = "evidence.bundle"
TRAIL = "trail/"


@dataclass(frozen=True)
class Built:
    path: Path
    records: int
    checkpoint_size: int
    timestamped: bool


def build(audit_id: str, output: Path, log: AuditLog | None = None, mlflow_runs: dict[str, Any] | None = None) -> Built:
    """Write ``output`` (a zip) for ``audit_id``; the trail must verify first.

    ``mlflow_runs`` is the export of the audit's experiment (:func:`ailab.evidence.mlflow_export.export_runs`).
    """
    log = log or AuditLog()
    checked = log.verify()
    if checked.problem is not None:
        raise OperationFailedError(f"{log.directory}: the trail does not verify ({checked.problem}); no bundle from it")
    records = [r for r in log.records() if r["audit_id"] == audit_id]
    if not records:
        raise BadInputError(f"audit {audit_id!r}: no records in the trail {log.directory}; check the id with `ailab audit show`")
    payload = _payload(audit_id, records, mlflow_runs)
    hashes = {path: "sha256:" + sha256(data) for path, data in sorted(payload.items())}
    bundle_record = log.append(BUNDLE_ACTION, audit_id=audit_id, arguments={"output": output.name}, outcome="ok", hashes=hashes)
    latest = log.checkpoint()
    if latest is None or latest.checkpoint.size < bundle_record["seq"]:
        raise OperationFailedError(f"{log.directory}: no signed checkpoint covers the bundle record")
    size = latest.checkpoint.size
    leaves = log.leaves()[:size]
    lines = _lines_of(log, audit_id, size)
    proofs = [
        {
            "seq": seq,
            "leaf_hash": leaves[seq - 1].hex(),
            "path": [p.hex() for p in merkle.inclusion_proof(seq - 1, leaves)],
        }
        for seq, _ in lines
    ]
    payload[f"{TRAIL}records.jsonl"] = b"".join(line + b"\n" for _, line in lines)
    payload[f"{TRAIL}proofs.json"] = canonicalize({"format": FORMAT, "tree_size": size, "proofs": proofs})
    payload[f"{TRAIL}checkpoint.note"] = latest.note.encode()
    payload[f"{TRAIL}public-key.pem"] = public_pem(log.signer.public_key()).encode()
    if latest.timestamp is not None:
        payload[f"{TRAIL}checkpoint.tsr"] = latest.timestamp
    name = f"ailab-evidence-{audit_id}"
    info = {
        "Source-Organization": "ailab",
        "External-Identifier": audit_id,
        "External-Description": f"Evidence of audit {audit_id}: signed trail records with inclusion proofs, OSCAL results",
        "Bagging-Date": bagging_date(),
        "Bag-Software-Agent": FORMAT,
    }
    data = bag_bytes(name, payload, info, {"README.txt": readme(name, audit_id, size).encode()})
    atomic_write_bytes(output, data, mode=0o644)
    return Built(output, len(lines), size, latest.timestamp is not None)


def _payload(audit_id: str, records: list[dict[str, Any]], mlflow_runs: dict[str, Any] | None) -> dict[str, bytes]:
    sandbox = [
        {k: r[k] for k in ("seq", "time", "action", "arguments", "verdict", "outcome", "detail")}
        for r in records
        if r["action"].startswith("sandbox.")
    ]
    runs = mlflow_runs["runs"] if mlflow_runs else []
    document = assessment_results(audit_id, records, utc_time(), runs)
    payload = {
        "sandbox/requests.json": json.dumps(sandbox, indent=2, ensure_ascii=False).encode() + b"\n",
        "oscal/assessment-results.json": json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n",
    }
    if mlflow_runs is not None:
        payload["mlflow/runs.json"] = json.dumps(mlflow_runs, indent=2, ensure_ascii=False).encode() + b"\n"
    return payload


def _lines_of(log: AuditLog, audit_id: str, size: int) -> list[tuple[int, bytes]]:
    found = []
    with log.path.open("rb") as stream:
        for seq, raw in enumerate(stream, start=1):
            if seq > size:
                break
            line = raw.rstrip(b"\n")
            if json.loads(line).get("audit_id") == audit_id:
                found.append((seq, line))
    return found


# -- checking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    audit_id: str
    records: int
    tree_size: int
    timestamp: str | None


class TamperedError(Exception):
    """The bundle was changed: ``item`` is the first bad member or record."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


def check(path: Path, key: Ed25519PublicKey, timestamps: TimestampChecker | None = None) -> Checked:
    """Check a bundle offline; TamperedError names the first bad item, BadInputError means it cannot be read."""
    from ailab.evidence.bagit import UnreadableBagError

    if not path.is_file():
        raise BadInputError(f"{path}: not a file; pass the bundle's .zip")
    try:
        bag = read_bag(str(path))
    except UnreadableBagError as error:
        raise BadInputError(f"{path}: {error}; pass the bundle's .zip") from None
    except BagError as error:
        raise TamperedError(error.item, error.reason) from None
    return _check_bag(bag, key, timestamps)


def _check_bag(bag: Bag, key: Ed25519PublicKey, timestamps: TimestampChecker | None) -> Checked:
    audit_id = bag.info.get("External-Identifier", "")
    member = f"data/{TRAIL}"
    for needed in ("records.jsonl", "proofs.json", "checkpoint.note"):
        if f"{TRAIL}{needed}" not in bag.payload:
            raise TamperedError(member + needed, "missing")
    note_text = _text(bag, "checkpoint.note")
    origin = note_text.split("\n", 1)[0]
    try:
        checkpoint = open_note(note_text, key, origin)
    except NoteError as error:
        raise TamperedError(member + "checkpoint.note", str(error)) from None
    stamped_at = None
    token = bag.payload.get(f"{TRAIL}checkpoint.tsr")
    if timestamps is not None:
        if token is None:
            raise TamperedError(member + "checkpoint.tsr", "missing: the checkpoint is not timestamped")
        try:
            stamped_at = timestamps.check(note_text.encode(), token)
        except ValueError as error:
            raise TamperedError(member + "checkpoint.tsr", f"does not verify ({error})") from None
    try:
        proofs = json.loads(bag.payload[f"{TRAIL}proofs.json"])
        by_seq = {int(p["seq"]): [bytes.fromhex(h) for h in p["path"]] for p in proofs["proofs"]}
        if proofs["tree_size"] != checkpoint.size:
            raise ValueError("tree_size is not the checkpoint's")
    except (ValueError, KeyError, TypeError) as error:
        raise TamperedError(member + "proofs.json", f"not the proofs of this checkpoint ({error})") from None
    lines = bag.payload[f"{TRAIL}records.jsonl"].split(b"\n")
    if lines[-1] != b"":
        raise TamperedError(member + "records.jsonl", "not newline-terminated")
    records = []
    for number, line in enumerate(lines[:-1], start=1):
        item = f"{member}records.jsonl line {number}"
        try:
            record = canonical_value(line)
        except ValueError as error:
            raise TamperedError(item, f"not a canonical record ({error})") from None
        seq = record.get("seq") if isinstance(record, dict) else None
        if type(seq) is not int:
            raise TamperedError(item, "not a record with an integer seq")
        reason = problem(record, seq)
        if reason is not None:
            raise TamperedError(item, reason)
        if record["audit_id"] != audit_id:
            raise TamperedError(item, f"a record of another audit ({record['audit_id']!r}): a bundle holds only its own")
        proof = by_seq.get(seq)
        if proof is None or not merkle.verify_inclusion(seq - 1, checkpoint.size, merkle.leaf_hash(line), proof, checkpoint.root):
            raise TamperedError(item, f"record {seq}'s inclusion proof does not verify against the signed checkpoint")
        records.append(record)
    if not records or records[-1]["action"] != BUNDLE_ACTION:
        raise TamperedError(member + "records.jsonl", f"does not end with the {BUNDLE_ACTION} record")
    expected = records[-1]["hashes"]
    hashed = {path: data for path, data in bag.payload.items() if not path.startswith(TRAIL)}
    for path in sorted(set(expected) | set(hashed)):
        if path not in hashed:
            raise TamperedError(f"data/{path}", "named by the signed bundle record but missing")
        if expected.get(path) != "sha256:" + sha256(hashed[path]):
            raise TamperedError(f"data/{path}", "its SHA-256 is not the one the signed bundle record holds")
    return Checked(audit_id, len(records), checkpoint.size, stamped_at)


def _text(bag: Bag, name: str) -> str:
    try:
        return bag.payload[f"{TRAIL}{name}"].decode("utf-8")
    except UnicodeDecodeError:
        raise TamperedError(f"data/{TRAIL}{name}", "not UTF-8") from None
