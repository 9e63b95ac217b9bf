"""`ailab audit`: The tamper-evident audit log of every sandbox operation."""

from __future__ import annotations

import typer

from ailab.cli.base import new_group

app = new_group("The tamper-evident audit log of every sandbox operation.")


@app.command()
def verify() -> None:
    """Check the whole hash chain; exit 1 naming the first broken record."""
    from ailab.cli.console import out, print_error
    from ailab.sandbox.auditlog import AuditLog

    log = AuditLog()
    count, broken = log.verify()
    if broken is not None:
        print_error(f"{log.path}: {broken}")
        raise typer.Exit(1)
    out().print(f"{log.path}: {count} records, chain intact", markup=False)


@app.command()
def show(
    audit: str | None = typer.Option(None, "--audit", help="Only the records of this audit id."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """Print the log's records: who did what, when, with which policy verdict and outcome."""
    from rich.table import Table

    from ailab.cli.console import emit_json, out, text_row
    from ailab.sandbox.auditlog import AuditLog

    records = [r for r in AuditLog().records() if audit is None or r.get("audit_id") == audit]
    if as_json:
        emit_json(records)
        return
    table = Table(title="Audit log" + (f" of {audit}" if audit else ""))
    for column in ("#", "time", "actor", "action", "audit id", "verdict", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for record in records:
        actor = record.get("actor") or {}
        verdict = record.get("verdict") or {}
        # Records keep what was typed, refused input included.
        text_row(
            table,
            str(record.get("seq")),
            str(record.get("time")),
            f"{actor.get('user')}@{actor.get('host')}",
            str(record.get("action")),
            str(record.get("audit_id") or ""),
            str(verdict.get("result", "")),
            str(record.get("outcome")),
            str(record.get("detail") or ""),
        )
    out().print(table if records else "the audit log is empty")
