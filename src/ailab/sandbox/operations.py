"""The sandbox operations as a user runs them: validate, lock, plan, gate, deploy, record.

Every operation, refused or failed ones included, appends one record to the audit log, through
:class:`Recorded`. Read-only views (``list``, ``show``, ``audit show``) are not operations and are
not recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from ailab.errors import AilabError, BadInputError, MissingPrerequisiteError
from ailab.plan.graph import Plan
from ailab.sandbox import ids, lifecycle, lock, state
from ailab.sandbox.auditlog import AuditLog, actor, content_hash
from ailab.sandbox.gate import GateBlockedError, GateResult, check
from ailab.sandbox.lifecycle import Printer
from ailab.sandbox.program import connection_from_stack, plan_sandbox, sandbox_program
from ailab.sandbox.request import SandboxSpec, build_spec, parse_ttl, utc_now
from ailab.sandbox.state import SandboxEntry, Status
from ailab.spec.lab_ca import lab_ca_bundle
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import Project, find_project, load_stack_spec

LOGGED_TEXT = 500
"""Longest argument text kept in the log."""


class Recorded:
    """One audit-log record per operation: ``with Recorded(...) as op:`` appends it on the way out.

    A :class:`BadInputError` or :class:`MissingPrerequisiteError` is a refusal, anything else raised
    a failure; the exception still propagates.
    """

    def __init__(self, action: str, audit_id: str | None, arguments: dict[str, Any]) -> None:
        self.action = action
        # What was typed is recorded as typed (refused ids included), within reason.
        self.audit_id = audit_id[:LOGGED_TEXT] if audit_id is not None else None
        self.arguments = {key: value[:LOGGED_TEXT] if isinstance(value, str) else value for key, value in arguments.items()}
        self.verdict: dict[str, Any] | None = None
        self.hashes: dict[str, str] = {}
        """Content hashes of what the operation produced (its plan), by name."""
        self.outcome = "ok"
        self.detail: str | None = None

    def __enter__(self) -> Recorded:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None) -> None:
        if error is not None:
            if isinstance(error, GateBlockedError):
                self.outcome = "blocked"
            elif isinstance(error, BadInputError | MissingPrerequisiteError):
                self.outcome = "refused"
            else:
                self.outcome = "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"
            self.detail = str(error) if isinstance(error, AilabError) else f"{type(error).__name__}: {error}"
        AuditLog().append(
            self.action,
            audit_id=self.audit_id,
            arguments=self.arguments,
            outcome=self.outcome,
            verdict=self.verdict,
            detail=self.detail,
            hashes=self.hashes,
        )


def requester() -> str:
    who = actor()
    return f"{who['user']}@{who['host']}"


@dataclass(frozen=True)
class Request:
    """The arguments of ``create`` and ``plan``, as typed."""

    audit_id: str
    team: str
    profile: str
    lab_stack: str | None = None
    """None: the project's only stack."""
    group: str | None = None
    ttl: str | None = None
    gpus: int | None = None
    purpose: str | None = None
    data_classification: str | None = None

    def arguments(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}

    def lab(self, project: Project) -> tuple[str, LabSpec]:
        """The lab stack's name and validated spec."""
        stack = self.lab_stack
        if stack is None:
            stacks = project.stacks()
            if len(stacks) != 1:
                raise BadInputError(f"--stack: this project has the lab stacks {', '.join(stacks) or 'none'}; choose one")
            stack = stacks[0]
        return stack, load_stack_spec(stack, project)[0]

    def build(self, lab_stack: str, lab: LabSpec, now: datetime | None = None) -> SandboxSpec:
        return build_spec(
            lab,
            audit_id=self.audit_id,
            lab_stack=lab_stack,
            team=self.team,
            profile=self.profile,
            requested_by=requester(),
            group=self.group,
            ttl=self.ttl,
            gpus=self.gpus,
            purpose=self.purpose,
            data_classification=self.data_classification,
            now=now,
        )


@dataclass(frozen=True)
class Planned:
    spec: SandboxSpec
    plan: Plan
    gate: GateResult
    lab: LabSpec


def _planned(spec: SandboxSpec, lab: LabSpec) -> Planned:
    plan = plan_sandbox(spec, lab)
    return Planned(spec, plan, check(plan, lab), lab)


def _gated(spec: SandboxSpec, lab: LabSpec, op: Recorded) -> Planned:
    """Plan and check ``spec``; the verdict goes to the log, and a blocking one stops the operation."""
    planned = _planned(spec, lab)
    op.verdict = planned.gate.verdict()
    op.hashes["plan"] = content_hash(planned.plan.to_json())
    if not planned.gate.passed:
        raise GateBlockedError(spec.audit_id, planned.gate)
    return planned


def _deployed_program(spec: SandboxSpec, lab: LabSpec, project: Project) -> Callable[[], None]:
    """The program as the engine runs it: the lab's values come from its stack's outputs."""
    return sandbox_program(spec, lab, lambda: connection_from_stack(lab, spec.lab_stack, project.name))


def plan(request: Request, project: Project | None = None) -> Planned:
    """The offline plan of a sandbox and its policy verdict; needs no Pulumi CLI, changes nothing."""
    with Recorded("sandbox.plan", request.audit_id, request.arguments()) as op:
        ids.audit_id(request.audit_id)
        lab_stack, lab = request.lab(project or find_project())
        planned = _planned(request.build(lab_stack, lab), lab)
        op.verdict = planned.gate.verdict()
        op.hashes["plan"] = content_hash(planned.plan.to_json())
        return planned


@dataclass(frozen=True)
class Created:
    entry: SandboxEntry
    gate: GateResult
    resumed: bool
    lab: LabSpec
    new_passwords: dict[str, str] = field(default_factory=dict)
    """MLflow passwords generated by this run (shown once; also in the 0600 credentials file)."""


def create(request: Request, on_output: Printer, project: Project | None = None) -> Created:
    """Plan, gate and deploy a sandbox; running it again after an interruption finishes the job."""
    with Recorded("sandbox.create", request.audit_id, request.arguments()) as op:
        audit_id = ids.audit_id(request.audit_id)
        project = project or find_project()
        lab_stack, lab = request.lab(project)
        spec = request.build(lab_stack, lab)
        lifecycle.require_service_paths(lab, lab_stack, "create")
        lifecycle.require_engine("create", (project.name, lab_stack))
        with lock.sandbox_lock(audit_id, f"ailab sandbox create {audit_id}"):
            previous = state.load(audit_id)
            resumed = previous is not None
            if previous is not None:
                spec = _resumable(previous, spec)
            planned = _gated(spec, lab, op)
            entry, deployed = _deploy(spec, lab, project, resume=resumed, on_output=on_output)
            entry, passwords = _save_credentials(entry, deployed.secrets, op)
            return Created(entry, planned.gate, resumed, lab, passwords)


def _resumable(previous: SandboxEntry, requested: SandboxSpec) -> SandboxSpec:
    """The stored spec of an interrupted create, if the new request asks for the same sandbox."""
    audit_id = previous.spec.audit_id
    if previous.status is Status.READY:
        raise BadInputError(
            f"sandbox {audit_id} exists (expires {previous.spec.expires_at:%Y-%m-%d %H:%M} UTC); "
            f"use ailab sandbox extend {audit_id} --by ..., or destroy it first"
        )
    if previous.status in (Status.DESTROYING, Status.DESTROY_FAILED):
        raise BadInputError(f"sandbox {audit_id} is being destroyed; finish with: ailab sandbox destroy {audit_id}")
    same = ("lab_stack", "profile_name", "team", "group", "gpus", "data_classification")
    differences = [name for name in same if getattr(previous.spec, name) != getattr(requested, name)]
    if differences:
        raise BadInputError(
            f"sandbox {audit_id} has an unfinished create with different {', '.join(differences)}; run the same command "
            f"again to finish it, or ailab sandbox destroy {audit_id} first"
        )
    if previous.spec.expired(utc_now()):
        raise BadInputError(
            f"sandbox {audit_id}'s unfinished create has expired; clean it up with: ailab sandbox destroy {audit_id}"
        )
    return previous.spec


def _up(spec: SandboxSpec, lab: LabSpec, project: Project, *, resume: bool, on_output: Printer) -> lifecycle.Deployed:
    """``pulumi up`` of the sandbox's stack, reading the lab's outputs, its services trusted through the lab's CA."""
    return lifecycle.up(
        spec,
        _deployed_program(spec, lab, project),
        resume=resume,
        on_output=on_output,
        ca_bundle=lab_ca_bundle(lab, project.root),
    )


def _deploy(
    spec: SandboxSpec, lab: LabSpec, project: Project, *, resume: bool, on_output: Printer
) -> tuple[SandboxEntry, lifecycle.Deployed]:
    entry = SandboxEntry(spec=spec, status=Status.CREATING, updated_at=utc_now())
    state.save(entry)
    try:
        deployed = _up(spec, lab, project, resume=resume, on_output=on_output)
    except BaseException as error:
        state.save(entry.model_copy(update={"status": Status.FAILED, "updated_at": utc_now(), "last_error": str(error)}))
        raise
    record_reverted_renames(spec.audit_id, deployed.outputs)
    ready = entry.model_copy(update={"status": Status.READY, "updated_at": utc_now(), "outputs": deployed.outputs})
    state.save(ready)
    return ready, deployed


def record_reverted_renames(audit_id: str, outputs: dict[str, Any]) -> None:
    """One audit-log record for each rename of the audit's MLflow experiment that the deployment undid.

    A member holding EDIT on the experiment (what creating runs needs) may rename it, on an MLflow
    server without the lab's authorization function; ailab renames it back on the next update.
    """
    for revert in outputs.get("mlflowRevertedRenames") or []:
        if not isinstance(revert, dict):
            continue
        AuditLog().append(
            "sandbox.mlflow-rename-reverted",
            audit_id=audit_id,
            arguments={key: str(value)[:LOGGED_TEXT] for key, value in revert.items()},
            outcome="reverted",
            detail=(
                f"MLflow experiment {revert.get('experiment_id')} of this audit had been renamed to "
                f"{str(revert.get('renamed_to'))[:LOGGED_TEXT]!r}; ailab renamed it back to {revert.get('restored_name')!r}"
            ),
        )


def _save_credentials(entry: SandboxEntry, secrets: dict[str, Any], op: Recorded) -> tuple[SandboxEntry, dict[str, str]]:
    """Write new MLflow passwords to the 0600 credentials file; the file's path is logged, never a password."""
    from ailab.services.credentials import credentials_path, write_credentials

    passwords = {str(k): str(v) for k, v in (secrets.get("mlflowCredentials") or {}).items()}
    path = credentials_path(entry.spec.audit_id, "mlflow")
    if passwords:
        url = entry.outputs.get("mlflowExternalUrl") or entry.outputs.get("mlflowUrl") or ""
        write_credentials(path, str(url), passwords)
        op.detail = f"new MLflow users {', '.join(sorted(passwords))}: passwords written to {path}"
    if path.exists():
        entry = entry.model_copy(update={"credentials_file": str(path)})
        state.save(entry)
    return entry, passwords


def extend(audit_id: str, by: str, on_output: Printer, project: Project | None = None) -> SandboxEntry:
    """Move the expiry later (never past the profile's maximum) and re-deploy: annotations and the Qdrant token follow."""
    with Recorded("sandbox.extend", audit_id, {"audit_id": audit_id, "by": by}) as op:
        ids.audit_id(audit_id)
        duration = parse_ttl("--by", by)
        project = project or find_project()
        # Only a sandbox this machine made can be extended: say so before naming missing tools.
        known = state.require(audit_id)
        lifecycle.require_engine("extend", (project.name, known.spec.lab_stack))
        with lock.sandbox_lock(audit_id, f"ailab sandbox extend {audit_id} --by {by}"):
            entry = state.require(audit_id)
            if entry.status is not Status.READY:
                raise BadInputError(
                    f"sandbox {audit_id} is {entry.status.value}; finish it first (create or destroy it again), then extend"
                )
            spec = entry.spec.extended(duration)
            if spec.expired(utc_now()):
                raise BadInputError(
                    f"--by {by}: sandbox {audit_id} would still have expired (at {spec.expires_at:%Y-%m-%d %H:%M} UTC); "
                    f"extend it by more, or destroy it"
                )
            lab, _ = load_stack_spec(spec.lab_stack, project)
            lifecycle.require_service_paths(lab, spec.lab_stack, "extend")
            _gated(spec, lab, op)
            deployed = _up(spec, lab, project, resume=False, on_output=on_output)
            record_reverted_renames(audit_id, deployed.outputs)
            extended = entry.model_copy(update={"spec": spec, "updated_at": utc_now(), "outputs": deployed.outputs})
            state.save(extended)
            return extended


FORGETTABLE = (Status.CREATING, Status.FAILED, Status.DESTROYING, Status.DESTROY_FAILED)


def forget(audit_id: str) -> SandboxEntry:
    """Drop this machine's record of a sandbox that never became ready (or failed to go): no engine needed.

    What an interrupted run may have deployed is not touched: the backend still has the stack, and
    ``ailab sandbox reap`` or ``destroy`` on a machine with the Pulumi CLI removes it.
    """
    with Recorded("sandbox.forget", audit_id, {"audit_id": audit_id}):
        ids.audit_id(audit_id)
        with lock.sandbox_lock(audit_id, f"ailab sandbox forget {audit_id}"):
            entry = state.require(audit_id)
            if entry.status not in FORGETTABLE:
                raise BadInputError(
                    f"sandbox {audit_id} is {entry.status.value}: forget is for sandboxes that failed; "
                    f"use ailab sandbox destroy {audit_id}"
                )
            state.remove(audit_id)
            return entry


def destroy(audit_id: str, on_output: Printer, reason: str | None = None, lab_stack: str | None = None) -> bool:
    """Destroy the sandbox's resources and stack and forget it locally; False when nothing was deployed.

    ``lab_stack``: the sandbox's lab, for a sandbox this machine has no record of (one reaped from the backend).
    """
    arguments: dict[str, Any] = {"audit_id": audit_id}
    if reason:
        arguments["reason"] = reason
    with Recorded("sandbox.destroy", audit_id, arguments):
        ids.audit_id(audit_id)
        lifecycle.require_engine("destroy")
        with lock.sandbox_lock(audit_id, f"ailab sandbox destroy {audit_id}"):
            return _destroy_locked(audit_id, on_output, lab_stack)


def _destroy_locked(audit_id: str, on_output: Printer, lab_stack: str | None) -> bool:
    from ailab.services.credentials import credentials_path

    entry = state.load(audit_id)
    if entry is not None:
        state.save(entry.model_copy(update={"status": Status.DESTROYING, "updated_at": utc_now()}))
    try:
        lab = entry.spec.lab_stack if entry is not None else lab_stack
        existed = lifecycle.destroy(audit_id, on_output, ca_bundle=lifecycle.sandbox_lab_ca(lab) if lab else None)
    except BaseException as error:
        if entry is not None:
            failed = {"status": Status.DESTROY_FAILED, "updated_at": utc_now(), "last_error": str(error)}
            state.save(entry.model_copy(update=failed))
        raise
    if entry is None and not existed:
        raise BadInputError(f"no sandbox {audit_id!r} here or in the backend; nothing to destroy")
    state.remove(audit_id)
    # The MLflow users are gone with the stack: their passwords are of no use, and are personal data.
    shutil.rmtree(credentials_path(audit_id, "mlflow").parent, ignore_errors=True)
    return existed


@dataclass(frozen=True)
class Reaped:
    audit_id: str
    expired_at: datetime | None
    """``None`` for a backend stack whose spec could not be read."""
    outcome: str
    """``destroyed``, ``would destroy`` (dry run), ``locked`` or ``failed: ...``."""


def expired_sandboxes(now: datetime, include_backend: bool) -> tuple[dict[str, SandboxSpec], dict[str, str]]:
    """Expired sandboxes of the local index and, when ``include_backend``, of the backend's stacks.

    Second: backend stacks (not in the local index) whose spec could not be read, with the reason.
    """
    specs = {entry.spec.audit_id: entry.spec for entry in state.entries()}
    unreadable: dict[str, str] = {}
    if include_backend:
        remote, unreadable = lifecycle.backend_specs()
        specs.update({k: v for k, v in remote.items() if k not in specs})
        unreadable = {k: v for k, v in unreadable.items() if k not in specs}
    return {audit_id: spec for audit_id, spec in sorted(specs.items()) if spec.expired(now)}, unreadable


def reap(dry_run: bool, on_output: Printer, now: datetime | None = None) -> list[Reaped]:
    """Destroy every expired sandbox; one sandbox's failure (or an unreadable stack) does not stop the others.

    A dry run reads only the local index and needs no Pulumi CLI.
    """
    moment = now or utc_now()
    results: list[Reaped] = []
    with Recorded("sandbox.reap", None, {"dry_run": dry_run}) as op:
        if not dry_run:
            lifecycle.require_engine("reap")
        expired, unreadable = expired_sandboxes(moment, include_backend=not dry_run)
        for audit_id, spec in expired.items():
            outcome = "would destroy" if dry_run else _reap_one(audit_id, spec.lab_stack, on_output)
            results.append(Reaped(audit_id, spec.expires_at, outcome))
        results.extend(Reaped(name, None, f"failed: {reason}") for name, reason in sorted(unreadable.items()))
        op.detail = "; ".join(f"{r.audit_id}: {r.outcome}" for r in results) or "nothing expired"
        if any(r.outcome.startswith("failed") for r in results):
            op.outcome = "partial"
    return results


def _reap_one(audit_id: str, lab_stack: str, on_output: Printer) -> str:
    try:
        destroy(audit_id, on_output, reason="expired (reap)", lab_stack=lab_stack)
    except lock.LockHeldError:
        return "locked"
    except AilabError as error:
        return f"failed: {error}"
    return "destroyed"


def unlock(audit_id: str, force: bool = False) -> lock.Holder:
    with Recorded("sandbox.unlock", audit_id, {"audit_id": audit_id, "force": force}) as op:
        ids.audit_id(audit_id)
        holder = lock.unlock(audit_id, force=force)
        op.detail = f"removed the lock of {holder.describe()}"
        return holder
