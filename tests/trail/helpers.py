"""Helpers of the trail tests: a trail with its own key, and an attacker's tools to rewrite it."""

from __future__ import annotations

import json
from pathlib import Path

from ailab.trail import AuditLog
from ailab.trail.signer import LocalKeySigner


def new_log(tmp_path: Path, checkpoint_every: int = 1) -> AuditLog:
    return AuditLog(tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), checkpoint_every=checkpoint_every)


def filled(tmp_path: Path, count: int = 5) -> AuditLog:
    log = new_log(tmp_path)
    log.append(
        "sandbox.plan", audit_id="2025-017-chatbot", arguments={"team": "alice,bob"}, outcome="ok", verdict={"result": "pass"}
    )
    log.append(
        "sandbox.create", audit_id="../x", arguments={"audit_id": "../x"}, outcome="refused", detail="audit id '../x': ..."
    )
    log.append("sandbox.create", audit_id="2025-017-chatbot", arguments={"purpose": "Évaluation « biais » ✓"}, outcome="ok")
    for index in range(3, count):
        log.append("sandbox.reap", audit_id=None, arguments={"dry_run": True, "index": index}, outcome="ok")
    return log


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def record(log: AuditLog, seq: int) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(read_lines(log.path)[seq - 1])
    return loaded


def forge_checkpoints(log: AuditLog, signer: object, *, origin: str | None = None, times: list[str] | None = None) -> None:
    """What an attacker holding ``signer``'s key does: re-sign one chained checkpoint per record over the records as they now are."""
    import base64

    from ailab.trail import merkle
    from ailab.trail.jcs import canonicalize
    from ailab.trail.note import Checkpoint, sign

    leaves = [merkle.leaf_hash(line) for line in read_lines(log.path)]
    signed = [json.loads(line)["note"].split("\n")[3].removeprefix("time ") for line in read_lines(log.checkpoints_path)]
    entries = []
    for size in range(1, len(leaves) + 1):
        time = times[size - 1] if times else signed[min(size, len(signed)) - 1]
        note = sign(Checkpoint(origin or log.origin, size, merkle.root(leaves[:size]), time), signer)  # type: ignore[arg-type]
        proof = None if size == 1 else [base64.b64encode(p).decode() for p in merkle.consistency_proof(size - 1, leaves[:size])]
        entries.append(canonicalize({"note": note, "consistency": proof, "timestamp": None}))
    write_lines(log.checkpoints_path, entries)
    log.leaves_path.unlink(missing_ok=True)
