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
    from collections.abc import Mapping, Sequence

    from rich.table import Table

    from ailab.sandbox.gate import GateResult
    from ailab.sandbox.next_steps import Step
    from ailab.sandbox.operations import Request
    from ailab.sandbox.request import SandboxSpec
    from ailab.sandbox.state import SandboxEntry
    from ailab.spec.model import LabSpec

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


def pulumi_output(line: str) -> None:
    sys.stderr.write(line + "\n")


def print_gate(result: GateResult, full: bool) -> None:
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


def _print_next_steps(
    spec: SandboxSpec, lab: LabSpec, outputs: Mapping[str, Any] | None = None, credentials_file: str | None = None
) -> None:
    """What the auditor does next (stdout): one paragraph per step, commands on lines of their own."""
    from ailab.sandbox.next_steps import next_steps

    _print_steps(next_steps(spec, lab, outputs, credentials_file))


def _print_steps(steps: Sequence[Step]) -> None:
    from rich.markup import escape

    from ailab.cli.console import out

    out().print("\n[bold]Next steps[/]")
    for step in steps:
        out().print(f"[bold]{escape(step.title)}[/]")
        for line in step.lines:
            # soft_wrap: a command stays one line to copy, whatever the terminal's width.
            out().print(f"  {line}", markup=False, soft_wrap=True)


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
    from ailab.cli.console import json_to_stdout
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
    print_gate(planned.gate, full=not planned.gate.passed)
    if not planned.gate.passed:
        raise typer.Exit(1)
    if not json_to_stdout(json_file):
        _print_next_steps(planned.spec, planned.lab)


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
        created = operations.create(request, on_output=pulumi_output)
    except GateBlockedError as blocked:
        print_gate(blocked.result, full=True)
        raise
    print_gate(created.gate, full=False)
    out().print(_entry_table(created.entry, title=f"Sandbox {audit_id} {'finished' if created.resumed else 'created'}"))
    if created.new_passwords:
        out().print(f"[bold]New MLflow users[/] (shown once; also in {escape(str(created.entry.credentials_file))}, mode 0600):")
        for user, password in sorted(created.new_passwords.items()):
            out().print(f"  {user}: {password}", markup=False)
    _print_next_steps(created.entry.spec, created.lab, created.entry.outputs, created.entry.credentials_file)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the sandboxes known on this machine: id, team, profile, GPUs, created, expires, status."""
    from ailab.cli.console import emit_json, err, out, print_rows
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
    if not rows:
        out().print("no sandboxes on this machine")
        return
    headers = ("audit id", "team", "profile", "GPUs", "created (UTC)", "expires (UTC)", "status")
    cells = [
        (
            row["audit_id"],
            ", ".join(row["team"]),
            row["profile"],
            str(row["gpus"]),
            f"{entry.spec.created_at:%Y-%m-%d %H:%M}",
            f"{entry.spec.expires_at:%Y-%m-%d %H:%M}",
            row["status"],
        )
        for entry, row in zip(entries, rows, strict=True)
    ]
    print_rows("Sandboxes", headers, cells)


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
    from ailab.sandbox.next_steps import next_steps

    entry = state.require(ids.audit_id(audit_id))
    holder = lock.read_holder(audit_id)
    history = [r for r in AuditLog().records() if r["audit_id"] == audit_id]
    lab = _lab_of(entry)
    steps = [] if lab is None else next_steps(entry.spec, lab, entry.outputs, entry.credentials_file)
    if as_json:
        emit_json(
            {
                **entry.model_dump(mode="json"),
                "lock": holder.__dict__ if holder else None,
                "history": history,
                "next_steps": [step.as_json() for step in steps],
            }
        )
        return
    out().print(_entry_table(entry, title=f"Sandbox {audit_id}"))
    if holder:
        out().print(f"locked by {holder.describe()}", markup=False)
    for record in history[-10:]:
        who = (record.get("actor") or {}).get("user")
        out().print(f"  {record.get('time')} {record.get('action')} {record.get('outcome')} ({who})", markup=False)
    if lab is not None and entry.status.value == "ready":
        _print_steps(steps)


def _lab_of(entry: SandboxEntry) -> LabSpec | None:
    """The sandbox's lab spec, when this directory is its project (next steps need it; show works without)."""
    from ailab.errors import AilabError
    from ailab.spec.stackfile import load_stack_spec

    try:
        return load_stack_spec(entry.spec.lab_stack)[0]
    except AilabError:
        return None


@app.command()
def extend(
    audit_id: AuditId,
    by: str = typer.Option(..., "--by", help="How much longer, e.g. 24h; never past the profile's max_ttl from creation."),
) -> None:
    """Extend a sandbox's lifetime; its expiry annotation and Qdrant token follow."""
    from ailab.cli.console import out
    from ailab.sandbox import operations
    from ailab.sandbox.request import iso

    entry = operations.extend(audit_id, by, on_output=pulumi_output)
    out().print(
        f"sandbox {audit_id} now expires at {iso(entry.spec.expires_at)} (at the latest {iso(entry.spec.max_expires_at)})"
    )


@app.command()
def destroy(
    audit_id: AuditId,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts, cron)."),
) -> None:
    """Destroy a sandbox: its namespace, MLflow experiment and grants, Qdrant collection, and its stack.

    Asks for confirmation unless --yes; without a terminal to ask on, --yes is required.
    """
    from ailab.cli.console import out
    from ailab.errors import BadInputError
    from ailab.sandbox import operations

    if not yes:
        what = f"destroy sandbox {audit_id}: its namespace and workloads, its MLflow grants and Qdrant collection"
        if not sys.stdin.isatty():
            raise BadInputError(f"{what} cannot be undone; add --yes to confirm (there is no terminal to ask on)")
        if not typer.confirm(f"{what.capitalize()}. This cannot be undone. Continue?", default=False, err=True):
            raise typer.Exit(1)
    operations.destroy(audit_id, on_output=pulumi_output)
    out().print(f"sandbox {audit_id} destroyed")


@app.command()
def forget(audit_id: AuditId) -> None:
    """Drop this machine's record of a sandbox that failed (creating, failed, destroy-failed); needs no Pulumi CLI.

    Anything an interrupted run deployed stays in the backend: ailab sandbox reap, or destroy on a
    machine with the Pulumi CLI, removes it.
    """
    from ailab.cli.console import out
    from ailab.sandbox import operations

    entry = operations.forget(audit_id)
    out().print(
        f"forgot sandbox {audit_id} ({entry.status.value}) on this machine; if its run deployed anything, "
        f"remove it with ailab sandbox destroy {audit_id} --yes where the Pulumi CLI is installed",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def reap(dry_run: bool = typer.Option(False, "--dry-run", help="Only list the expired sandboxes (needs no Pulumi CLI).")) -> None:
    """Destroy every expired sandbox (run it from cron or a systemd timer). Exit 1 if any could not be destroyed."""
    from ailab.cli.console import out
    from ailab.sandbox import operations
    from ailab.sandbox.request import iso

    results = operations.reap(dry_run, on_output=pulumi_output)
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
