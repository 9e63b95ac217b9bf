"""`ailab sandbox`: Auditors: create, list, extend and destroy per-audit sandboxes.

Thin: parse, call :mod:`ailab.sandbox.operations`, render. Heavy imports (Pulumi, the policy
engine) happen inside the commands, so ``ailab --help`` stays instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ailab.cli.base import new_group

if TYPE_CHECKING:
    from rich.table import Table

    from ailab.sandbox.gate import GateResult
    from ailab.sandbox.operations import Request
    from ailab.sandbox.state import SandboxEntry

app = new_group("Auditors: create, list, extend and destroy per-audit sandboxes.")

# The options of `plan` and `create` (and the audit id of every command), defined once.
AuditId = Annotated[
    str, typer.Argument(metavar="AUDIT_ID", help="The audit's id: lower-case letters, digits and '-', at most 40.")
]
Team = Annotated[
    str, typer.Option("--team", help="Team members' usernames, comma-separated: the lead first (the sandbox's owner).")
]
Group = Annotated[str | None, typer.Option("--group", help="An identity-provider group granted the same access as the team.")]
Profile = Annotated[str, typer.Option("--profile", help="A sandbox profile of the lab (ailab lab stacks lists them).")]
Ttl = Annotated[
    str | None, typer.Option("--ttl", help="Lifetime, e.g. 30m, 12h, 7d; default the profile's, at most its max_ttl.")
]
Gpus = Annotated[int | None, typer.Option("--gpus", min=0, help="GPUs, up to the profile's (default); 0 for none.")]
Purpose = Annotated[
    str | None, typer.Option("--purpose", help="Why the data is processed (recorded on the namespace and in the log).")
]
Classification = Annotated[
    str | None,
    typer.Option("--data-classification", help="public, internal, confidential or restricted; at most the lab's (the default)."),
]
LabStack = Annotated[
    str | None,
    typer.Option("--stack", "-s", help="The lab's stack (stacks/Pulumi.<stack>.yaml); needed when there are several."),
]


def _request(audit_id: str, team: str, group: str | None, profile: str, **rest: Any) -> Request:
    from ailab.sandbox.operations import Request

    return Request(audit_id=audit_id, team=team, group=group, profile=profile, **rest)


def _pulumi_output(line: str) -> None:
    sys.stderr.write(line + "\n")


def _print_gate(result: GateResult, full: bool) -> None:
    """The verdict line; the policy package's whole report when ``full`` (a blocked gate) or when there are findings."""
    from ailab.cli.console import err
    from ailab.policy.report.console import print_report
    from ailab.sandbox.gate import FAIL_ON

    if full or result.report.failed() or result.report.errors():
        print_report(result.report, FAIL_ON, err())
    verdict = result.verdict()
    failed = ", ".join(f"{count} {severity}" for severity, count in verdict["failed"].items()) or "no findings"
    colour, word = ("green", "pass") if result.passed else ("red", "BLOCKED")
    err().print(f"policy gate: [{colour}]{word}[/] ({verdict['rules']} rules; {failed}; blocks at {verdict['fail_on']} or above)")


@app.command()
def plan(
    audit_id: AuditId,
    team: Team,
    profile: Profile,
    group: Group = None,
    ttl: Ttl = None,
    gpus: Gpus = None,
    purpose: Purpose = None,
    data_classification: Classification = None,
    stack: LabStack = None,
    json_file: Path | None = typer.Option(
        None, "--json", help="Also write the plan (ailab.plan/v1) to this file; '-' for stdout."
    ),
    tree: bool = typer.Option(True, "--tree/--no-tree", help="Print the component tree."),
) -> None:
    """Plan a sandbox offline and check it against the policy rules; deploys nothing, needs no Pulumi CLI.

    Exit 1 when the policy gate would block its creation.
    """
    from ailab.cli.plan_view import show_plan
    from ailab.sandbox import operations

    request = _request(
        audit_id,
        team,
        group,
        profile,
        lab_stack=stack,
        ttl=ttl,
        gpus=gpus,
        purpose=purpose,
        data_classification=data_classification,
    )
    planned = operations.plan(request)
    show_plan(planned.plan, json_file, tree)
    _print_gate(planned.gate, full=not planned.gate.passed)
    if not planned.gate.passed:
        raise typer.Exit(1)


@app.command()
def create(
    audit_id: AuditId,
    team: Team,
    profile: Profile,
    group: Group = None,
    ttl: Ttl = None,
    gpus: Gpus = None,
    purpose: Purpose = None,
    data_classification: Classification = None,
    stack: LabStack = None,
) -> None:
    """Create the sandbox of an audit: plan, policy gate, then deploy with the Pulumi Automation API.

    Running it again after an interruption finishes the job. Needs the Pulumi CLI and
    PULUMI_CONFIG_PASSPHRASE(_FILE).
    """
    from rich.markup import escape

    from ailab.cli.console import out
    from ailab.sandbox import operations
    from ailab.sandbox.gate import GateBlockedError

    request = _request(
        audit_id,
        team,
        group,
        profile,
        lab_stack=stack,
        ttl=ttl,
        gpus=gpus,
        purpose=purpose,
        data_classification=data_classification,
    )
    try:
        created = operations.create(request, on_output=_pulumi_output)
    except GateBlockedError as blocked:
        _print_gate(blocked.result, full=True)
        raise
    _print_gate(created.gate, full=False)
    out().print(_entry_table(created.entry, title=f"Sandbox {audit_id} {'finished' if created.resumed else 'created'}"))
    if created.new_passwords:
        out().print(f"[bold]New MLflow users[/] (shown once; also in {escape(str(created.entry.credentials_file))}, mode 0600):")
        for user, password in sorted(created.new_passwords.items()):
            out().print(f"  {user}: {password}", markup=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the sandboxes known on this machine: id, team, profile, GPUs, created, expires, status."""
    from rich.table import Table

    from ailab.cli.console import emit_json, err, out, text_row
    from ailab.sandbox import state
    from ailab.sandbox.request import iso, utc_now

    entries, problems = state.scan()
    for problem in problems:
        err().print(f"warning: {problem}", markup=False)
    now = utc_now()
    rows: list[dict[str, Any]] = [
        {
            "audit_id": e.spec.audit_id,
            "team": list(e.spec.team),
            "profile": e.spec.profile_name,
            "gpus": e.spec.gpus,
            "created": iso(e.spec.created_at),
            "expires": iso(e.spec.expires_at),
            "status": e.display_status(now),
        }
        for e in entries
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table(title="Sandboxes")
    table.add_column("audit id", no_wrap=True)
    for column in ("team", "profile", "GPUs", "created (UTC)", "expires (UTC)", "status"):
        table.add_column(column, justify="right" if column == "GPUs" else "left")
    for entry, row in zip(entries, rows, strict=True):
        created, expires = (f"{moment:%Y-%m-%d %H:%M}" for moment in (entry.spec.created_at, entry.spec.expires_at))
        text_row(
            table, row["audit_id"], ", ".join(row["team"]), row["profile"], str(row["gpus"]), created, expires, row["status"]
        )
    out().print(table if rows else "no sandboxes on this machine")


def _entry_table(entry: SandboxEntry, title: str) -> Table:
    from rich.table import Table

    from ailab.cli.console import text_row
    from ailab.sandbox.request import iso, utc_now

    spec = entry.spec
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    rows = [
        ("status", entry.display_status(utc_now())),
        ("lab stack", spec.lab_stack),
        ("team", ", ".join(spec.team) + (f" + group {spec.group}" if spec.group else "")),
        ("profile", f"{spec.profile_name} ({spec.profile.cpu} CPU, {spec.profile.memory}, {spec.gpus} GPU)"),
        ("data classification", spec.data_classification),
        ("purpose", spec.purpose),
        ("created", f"{iso(spec.created_at)} by {spec.requested_by}"),
        ("expires", iso(spec.expires_at)),
        ("may live until", iso(spec.max_expires_at)),
        *(
            (name, str(value))
            for name, value in sorted(entry.outputs.items())
            if name not in ("expiresAt", "maxExpiresAt", "auditId")
        ),
    ]
    if entry.credentials_file:
        rows.append(("MLflow credentials", entry.credentials_file))
    if entry.last_error:
        rows.append(("last error", entry.last_error))
    for name, value in rows:
        text_row(table, name, value)
    return table


@app.command()
def show(audit_id: AuditId, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show one sandbox: its request, status, outputs, lock holder and its audit-log records."""
    from ailab.cli.console import emit_json, out
    from ailab.sandbox import ids, lock, state
    from ailab.sandbox.auditlog import AuditLog

    entry = state.require(ids.audit_id(audit_id))
    holder = lock.read_holder(audit_id)
    history = [r for r in AuditLog().records() if r["audit_id"] == audit_id]
    if as_json:
        emit_json({**entry.model_dump(mode="json"), "lock": holder.__dict__ if holder else None, "history": history})
        return
    out().print(_entry_table(entry, title=f"Sandbox {audit_id}"))
    if holder:
        out().print(f"locked by {holder.describe()}", markup=False)
    for record in history[-10:]:
        who = (record.get("actor") or {}).get("user")
        out().print(f"  {record.get('time')} {record.get('action')} {record.get('outcome')} ({who})", markup=False)


@app.command()
def extend(
    audit_id: AuditId,
    by: str = typer.Option(..., "--by", help="How much longer, e.g. 24h; never past the profile's max_ttl from creation."),
) -> None:
    """Extend a sandbox's lifetime; its expiry annotation and Qdrant token follow."""
    from ailab.cli.console import out
    from ailab.sandbox import operations
    from ailab.sandbox.request import iso

    entry = operations.extend(audit_id, by, on_output=_pulumi_output)
    out().print(
        f"sandbox {audit_id} now expires at {iso(entry.spec.expires_at)} (at the latest {iso(entry.spec.max_expires_at)})"
    )


@app.command()
def destroy(audit_id: AuditId) -> None:
    """Destroy a sandbox: its namespace, MLflow experiment and grants, Qdrant collection, and its stack."""
    from ailab.cli.console import out
    from ailab.sandbox import operations

    operations.destroy(audit_id, on_output=_pulumi_output)
    out().print(f"sandbox {audit_id} destroyed")


@app.command()
def reap(dry_run: bool = typer.Option(False, "--dry-run", help="Only list the expired sandboxes (needs no Pulumi CLI).")) -> None:
    """Destroy every expired sandbox (run it from cron or a systemd timer). Exit 1 if any could not be destroyed."""
    from ailab.cli.console import out
    from ailab.sandbox import operations
    from ailab.sandbox.request import iso

    results = operations.reap(dry_run, on_output=_pulumi_output)
    if not results:
        out().print("no expired sandboxes")
    for result in results:
        expired = f"expired {iso(result.expired_at)}" if result.expired_at else "expiry unknown"
        # soft_wrap: one line per sandbox in cron logs, whatever the width.
        out().print(f"{result.audit_id} ({expired}): {result.outcome}", markup=False, soft_wrap=True)
    if any(result.outcome not in ("destroyed", "would destroy") for result in results):
        raise typer.Exit(1)


@app.command()
def unlock(
    audit_id: AuditId,
    force: bool = typer.Option(False, "--force", help="Remove a lock taken on another host (check that host first)."),
) -> None:
    """Clear a stale lock left by a crashed run, after checking that its process is gone."""
    from ailab.cli.console import out
    from ailab.sandbox import operations

    holder = operations.unlock(audit_id, force=force)
    out().print(f"removed the lock of sandbox {audit_id} held by {holder.describe()}", markup=False)
