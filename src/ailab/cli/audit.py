"""`ailab audit`: the lab's signed audit trail of every sandbox, evaluation and node operation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ailab.cli.base import new_group

app = new_group("The lab's signed, timestamped audit trail of every operation (docs/audit-trail.md).")

VERIFY_FORMAT = "ailab.audit-verify/1"
LEGACY_LOG = "audit.log.jsonl"


@app.command()
def verify(
    key: Path | None = typer.Option(None, "--key", help="The pinned public key (PEM, from `ailab audit key`)."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint saved earlier (`ailab audit checkpoint`) the trail must still extend."
    ),
    tsa_roots: Path | None = typer.Option(None, "--tsa-roots", help="PEM roots of the time-stamping authority."),
    as_json: bool = typer.Option(False, "--json", help=f"Print the result as JSON ({VERIFY_FORMAT})."),
) -> None:
    """Check records, tree, checkpoint signatures, consistency proofs and timestamps; exit 1 naming the first failure."""
    from ailab.cli.console import emit_json, out, print_error
    from ailab.errors import BadInputError
    from ailab.trail import AuditLog
    from ailab.trail.signer import load_public_key

    log = AuditLog()
    public = load_public_key(key) if key is not None else None
    pinned = None
    if checkpoint is not None:
        if public is None and log.missing_local_key() is not None:
            raise BadInputError(f"--checkpoint {checkpoint}: no key to check it with here; pass the pinned key with --key")
        pinned = _pinned(checkpoint, public or log.signer.public_key(), log.origin)
    checker = None
    if tsa_roots is not None:
        from ailab.trail.tsa import OpensslTimestampChecker

        checker = OpensslTimestampChecker(tsa_roots)
    result = log.verify(public, pinned=pinned, timestamps=checker)
    if (log.directory / LEGACY_LOG).exists():
        typer.echo(
            f"note: {log.directory / LEGACY_LOG} is the hash chain of ailab before the trail; it is neither read nor "
            "checked: keep it as an archive",
            err=True,
        )
    if as_json:
        problem = result.problem
        emit_json(
            {
                "format": VERIFY_FORMAT,
                "trail": str(log.directory),
                "records": result.records,
                "checkpoints": result.checkpoints,
                "timestamps_checked": result.timestamps,
                "intact": problem is None,
                "problem": None if problem is None else {"item": problem.item, "reason": problem.reason},
            }
        )
    elif result.problem is not None:
        print_error(f"{log.directory}: {result.problem}")
    else:
        stamped = f", {result.timestamps} timestamps" if checker is not None else ""
        out().print(
            f"{log.directory}: {result.records} records, {result.checkpoints} signed checkpoints{stamped}: intact",
            markup=False,
            soft_wrap=True,
        )
    if result.problem is not None:
        raise typer.Exit(1)


def _pinned(path: Path, key: Any, origin: str) -> Any:
    from ailab.errors import BadInputError
    from ailab.trail.note import NoteError, open_note

    try:
        text = path.read_text(encoding="utf-8")[:4096] if path.is_file() else None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: cannot read the checkpoint ({error}); pass a file `ailab audit checkpoint` wrote") from None
    if text is None:
        raise BadInputError(f"{path}: not a regular file; pass a file `ailab audit checkpoint` wrote")
    try:
        return open_note(text, key, origin)
    except NoteError as error:
        raise BadInputError(f"{path}: not a checkpoint signed by the trail's key ({error})") from None


@app.command()
def show(
    audit: str | None = typer.Option(None, "--audit", help="Only the records of this audit id."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON (malformed ones with a `problem`)."),
) -> None:
    """Print the trail's records: who did what, when, with which policy verdict and outcome; malformed ones say why."""
    from ailab.cli.console import emit_json, out, print_rows
    from ailab.trail import AuditLog

    entries = [e for e in AuditLog().entries() if audit is None or (e.record is not None and e.record["audit_id"] == audit)]
    if as_json:
        emit_json([e.record if e.record is not None else {"seq": e.seq, "problem": e.problem} for e in entries])
        return
    if not entries:
        out().print("the audit trail is empty")
        return
    rows = []
    for entry in entries:
        record = entry.record
        if record is None:
            rows.append((str(entry.seq), "", "", "malformed", "", "", "", str(entry.problem)))
            continue
        verdict = record["verdict"] or {}
        # Records keep what was typed, refused input included; the time to the second is enough here.
        rows.append(
            (
                str(record["seq"]),
                str(record["time"])[:19].replace("T", " "),
                f"{record['actor']['user']}@{record['actor']['host']}",
                str(record["action"]),
                str(record["audit_id"] or ""),
                str(verdict.get("result", "")),
                str(record["outcome"]),
                str(record["detail"] or ""),
            )
        )
    headers = ("#", "time (UTC)", "actor", "action", "audit id", "verdict", "outcome", "detail")
    print_rows("Audit trail" + (f" of {audit}" if audit else ""), headers, rows)


@app.command()
def key() -> None:
    """Print the trail's public key (PEM) to pin: reviewers pass it to `audit verify --key` and `evidence verify`."""
    from ailab.trail import AuditLog
    from ailab.trail.signer import public_pem

    log = AuditLog()
    if (missing := log.missing_local_key()) is not None:
        # The key's birth is itself recorded, so a trail with a key is never legitimately empty.
        log.append("trail.key", audit_id=None, arguments={"path": str(missing.path)}, outcome="ok")
    typer.echo(public_pem(log.signer.public_key()), nl=False)  # raw: a wrapped key or note would not parse


@app.command()
def checkpoint() -> None:
    """Sign a checkpoint over every record now and print the latest signed checkpoint (save it to pin the trail)."""
    from ailab.errors import BadInputError
    from ailab.trail import AuditLog

    latest = AuditLog().checkpoint()
    if latest is None:
        raise BadInputError("the audit trail is empty: nothing to sign yet")
    typer.echo(latest.note, nl=False)
