"""The operations around the engine: gate, state, locks, resume, credentials, reap, and one log record each.

The engine itself is faked (``fake_pulumi``); the Automation API runs in ``test_lifecycle.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.sandbox.conftest import FakePulumi
from tests.sandbox.helpers import lab, make_spec

from ailab.errors import BadInputError, MissingPrerequisiteError, OperationFailedError
from ailab.plan.graph import Plan
from ailab.sandbox import lifecycle, lock, operations, state
from ailab.sandbox.auditlog import AuditLog, content_hash
from ailab.sandbox.gate import GateBlockedError, check
from ailab.sandbox.operations import Request
from ailab.sandbox.request import utc_now
from ailab.sandbox.state import SandboxEntry, Status
from ailab.spec.model import LabSpec

REQUEST = Request(audit_id="2025-017-chatbot", team="alice,bob", profile="gpu-mig", lab_stack="aws-eu", ttl="24h")
lines: list[str] = []


def _records() -> list[dict[str, Any]]:
    return list(AuditLog().records())


def test_plan_logs_the_verdict_and_deploys_nothing(fake_pulumi: FakePulumi) -> None:
    planned = operations.plan(REQUEST)
    assert planned.gate.passed
    assert fake_pulumi.ups == [] and state.entries() == []
    (record,) = _records()
    assert record["action"] == "sandbox.plan" and record["outcome"] == "ok"
    assert record["verdict"]["result"] == "pass" and record["verdict"]["blocking"] == []
    assert record["hashes"] == {"plan": content_hash(planned.plan.to_json())}  # the plan it judged, by content
    assert record["arguments"] == {
        "audit_id": "2025-017-chatbot",
        "team": "alice,bob",
        "profile": "gpu-mig",
        "lab_stack": "aws-eu",
        "ttl": "24h",
    }


@pytest.mark.parametrize(
    ("stack", "profile"), [(stack, name) for stack in ("aws-eu", "onprem") for name in lab(stack).sandbox.profiles]
)
def test_every_example_profile_passes_every_rule(stack: str, profile: str) -> None:
    planned = operations.plan(Request(audit_id="a1", team="alice", profile=profile, lab_stack=stack))
    assert planned.gate.report.failed() == [] and planned.gate.report.errors() == []
    assert len(planned.gate.report.rules) > 0


def test_create_deploys_and_records(fake_pulumi: FakePulumi, ailab_home: Path) -> None:
    created = operations.create(REQUEST, on_output=lines.append)
    ((spec, resume),) = fake_pulumi.ups
    assert not resume and spec.audit_id == "2025-017-chatbot" and spec.expires_at - spec.created_at == timedelta(hours=24)
    entry = state.require("2025-017-chatbot")
    assert entry.status is Status.READY and entry.outputs["namespace"] == "audit-2025-017-chatbot"
    assert created.new_passwords == {"alice": "generated-password-of-alice-0123"}
    credentials = Path(entry.credentials_file or "")
    assert oct(credentials.stat().st_mode & 0o777) == "0o600"
    assert json.loads(credentials.read_text())["users"] == {"alice": "generated-password-of-alice-0123"}
    assert lock.read_holder("2025-017-chatbot") is None
    (record,) = _records()
    assert record["action"] == "sandbox.create" and record["outcome"] == "ok" and record["verdict"]["result"] == "pass"
    assert str(credentials) in record["detail"]
    text = (ailab_home / "audit" / "records.jsonl").read_text() + (ailab_home / "sandboxes" / "2025-017-chatbot.json").read_text()
    assert "generated-password-of-alice-0123" not in text  # only in the 0600 credentials file


def test_create_twice_is_refused(fake_pulumi: FakePulumi) -> None:
    operations.create(REQUEST, on_output=lines.append)
    with pytest.raises(BadInputError, match=r"exists .* use ailab sandbox extend"):
        operations.create(REQUEST, on_output=lines.append)
    assert [r["outcome"] for r in _records()] == ["ok", "refused"]


def test_interrupted_create_is_finished_by_running_it_again(fake_pulumi: FakePulumi) -> None:
    fake_pulumi.fail_up = OperationFailedError("pulumi up of sandbox 2025-017-chatbot failed: connection reset")
    with pytest.raises(OperationFailedError, match="connection reset"):
        operations.create(REQUEST, on_output=lines.append)
    failed = state.require("2025-017-chatbot")
    assert failed.status is Status.FAILED and "connection reset" in (failed.last_error or "")
    fake_pulumi.fail_up = None
    created = operations.create(REQUEST, on_output=lines.append)
    assert created.resumed
    (first, _), (second, resume) = fake_pulumi.ups
    assert resume and second == first  # the stored spec: same creation time and expiry
    assert state.require("2025-017-chatbot").status is Status.READY
    assert [r["outcome"] for r in _records()] == ["failed", "ok"]


def test_resume_with_other_arguments_is_refused(fake_pulumi: FakePulumi) -> None:
    fake_pulumi.fail_up = OperationFailedError("boom")
    with pytest.raises(OperationFailedError):
        operations.create(REQUEST, on_output=lines.append)
    with pytest.raises(BadInputError, match="unfinished create with different profile_name"):
        operations.create(dataclasses.replace(REQUEST, profile="cpu-small"), on_output=lines.append)


def test_killed_create_leaves_a_lock_then_unlock_and_finish(fake_pulumi: FakePulumi, tmp_path: Path) -> None:
    """A run killed mid-way leaves its lock and a 'creating' entry: unlock (its process is gone), run again."""
    spec = REQUEST.build("aws-eu", lab("aws-eu"))
    state.save(SandboxEntry(spec=spec, status=Status.CREATING, updated_at=utc_now()))
    dead = _dead_pid()
    lock.lock_path(spec.audit_id).write_text(
        json.dumps({"pid": dead, "host": os.uname().nodename, "user": "auditor", "command": "ailab sandbox create", "time": "t"})
    )
    with pytest.raises(lock.LockHeldError, match=f"locked by auditor@.* \\(pid {dead}\\) running 'ailab sandbox create'"):
        operations.create(REQUEST, on_output=lines.append)
    operations.unlock(spec.audit_id)
    assert operations.create(REQUEST, on_output=lines.append).resumed
    assert [r["action"] + ":" + r["outcome"] for r in _records()] == [
        "sandbox.create:failed",
        "sandbox.unlock:ok",
        "sandbox.create:ok",
    ]


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_gate_blocks_and_nothing_is_deployed(fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> None:
    real_plan = operations.plan_sandbox

    def privileged(spec: Any, lab: Any) -> Plan:
        plan = real_plan(spec, lab)
        return dataclasses.replace(plan, resources=tuple(_escalate(r) for r in plan.resources))

    monkeypatch.setattr(operations, "plan_sandbox", privileged)
    with pytest.raises(GateBlockedError, match="the policy gate blocked it") as blocked:
        operations.create(REQUEST, on_output=lines.append)
    assert not blocked.value.result.passed
    assert fake_pulumi.ups == [] and state.load("2025-017-chatbot") is None
    (record,) = _records()
    assert record["outcome"] == "blocked" and record["verdict"]["result"] == "block" and record["verdict"]["blocking"]


def _escalate(resource: Any) -> Any:
    if resource.type != "kubernetes:apps/v1:Deployment":
        return resource
    inputs = json.loads(json.dumps(resource.inputs))
    container = inputs["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"].update(privileged=True, allowPrivilegeEscalation=True, readOnlyRootFilesystem=False)
    return dataclasses.replace(resource, inputs=inputs)


def test_gate_check_of_a_tampered_plan(mig_plan: Plan, aws_lab: LabSpec) -> None:
    assert check(mig_plan, aws_lab).passed
    without_deny = dataclasses.replace(
        mig_plan, resources=tuple(r for r in mig_plan.resources if not r.name.endswith("default-deny"))
    )
    result = check(without_deny, aws_lab)
    assert not result.passed and result.verdict()["result"] == "block"


def test_extend_moves_the_expiry_and_redeploys(fake_pulumi: FakePulumi) -> None:
    operations.create(REQUEST, on_output=lines.append)
    before = state.require("2025-017-chatbot").spec
    extended = operations.extend("2025-017-chatbot", "48h", on_output=lines.append)
    assert extended.spec.expires_at == before.expires_at + timedelta(hours=48)
    assert fake_pulumi.ups[-1][0].expires_at == extended.spec.expires_at
    with pytest.raises(BadInputError, match="past its profile's maximum lifetime"):
        operations.extend("2025-017-chatbot", "7d", on_output=lines.append)
    assert state.require("2025-017-chatbot").spec.expires_at == extended.spec.expires_at
    assert [r["outcome"] for r in _records()] == ["ok", "ok", "refused"]


def test_a_reverted_rename_of_the_experiment_is_recorded(fake_pulumi: FakePulumi) -> None:
    operations.create(REQUEST, on_output=lines.append)
    revert = {"experiment_id": "7", "renamed_to": "audit/future", "restored_name": "audit/2025-017-chatbot"}
    fake_pulumi.extra_outputs = {"mlflowRevertedRenames": [revert]}

    operations.extend("2025-017-chatbot", "24h", on_output=lines.append)

    *_, reverted, extended = _records()
    assert (reverted["action"], reverted["outcome"], reverted["audit_id"]) == (
        "sandbox.mlflow-rename-reverted",
        "reverted",
        "2025-017-chatbot",
    )
    assert reverted["arguments"] == revert
    assert "renamed to 'audit/future'; ailab renamed it back to 'audit/2025-017-chatbot'" in reverted["detail"]
    assert extended["action"] == "sandbox.extend"
    fake_pulumi.extra_outputs = {"mlflowRevertedRenames": []}
    operations.extend("2025-017-chatbot", "1h", on_output=lines.append)
    assert [r["action"] for r in _records()][-2:] == ["sandbox.extend", "sandbox.extend"], "nothing to record"


def test_extend_of_a_long_expired_sandbox_must_reach_the_future(fake_pulumi: FakePulumi, aws_lab: LabSpec) -> None:
    state.save(_entry("old", 50, aws_lab))  # expired 26 hours ago, may live until 118 hours after creation
    with pytest.raises(BadInputError, match="would still have expired"):
        operations.extend("old", "1h", on_output=lines.append)
    assert operations.extend("old", "2d", on_output=lines.append).spec.expired(utc_now()) is False


def test_extend_unknown_sandbox(fake_pulumi: FakePulumi) -> None:
    with pytest.raises(BadInputError, match="no sandbox 'nope' on this machine"):
        operations.extend("nope", "1h", on_output=lines.append)


def test_destroy_forgets_the_sandbox_and_its_passwords(fake_pulumi: FakePulumi) -> None:
    created = operations.create(REQUEST, on_output=lines.append)
    credentials = Path(created.entry.credentials_file or "")
    assert operations.destroy("2025-017-chatbot", on_output=lines.append)
    assert state.load("2025-017-chatbot") is None and not credentials.exists()
    with pytest.raises(BadInputError, match="nothing to destroy"):
        operations.destroy("2025-017-chatbot", on_output=lines.append)
    assert [r["action"] + ":" + r["outcome"] for r in _records()] == [
        "sandbox.create:ok",
        "sandbox.destroy:ok",
        "sandbox.destroy:refused",
    ]


def test_destroy_waits_for_no_one(fake_pulumi: FakePulumi) -> None:
    operations.create(REQUEST, on_output=lines.append)
    with (
        lock.sandbox_lock("2025-017-chatbot", "ailab sandbox extend 2025-017-chatbot --by 1h"),
        pytest.raises(lock.LockHeldError, match=r"running 'ailab sandbox extend 2025-017-chatbot --by 1h'"),
    ):
        operations.destroy("2025-017-chatbot", on_output=lines.append)
    assert state.require("2025-017-chatbot").status is Status.READY


def _entry(audit_id: str, hours_ago: int, lab_spec: LabSpec) -> SandboxEntry:
    spec = make_spec(lab_spec, audit_id=audit_id, ttl="24h", now=utc_now() - timedelta(hours=hours_ago))
    return SandboxEntry(spec=spec, status=Status.READY, updated_at=utc_now())


def test_reap_destroys_only_expired_sandboxes(fake_pulumi: FakePulumi, aws_lab: LabSpec) -> None:
    for audit_id, age in (("old", 30), ("older", 50), ("fresh", 1)):
        state.save(_entry(audit_id, age, aws_lab))
        fake_pulumi.stacks.add(audit_id)
    planned = operations.reap(dry_run=True, on_output=lines.append)
    assert [(r.audit_id, r.outcome) for r in planned] == [("old", "would destroy"), ("older", "would destroy")]
    assert fake_pulumi.destroys == []
    with lock.sandbox_lock("older", "ailab sandbox extend older --by 1h"):
        reaped = operations.reap(dry_run=False, on_output=lines.append)
    assert [(r.audit_id, r.outcome) for r in reaped] == [("old", "destroyed"), ("older", "locked")]
    assert sorted(e.spec.audit_id for e in state.entries()) == ["fresh", "older"]
    actions = [(r["action"], r["audit_id"], r["outcome"]) for r in _records()]
    assert actions == [
        ("sandbox.reap", None, "ok"),
        ("sandbox.destroy", "old", "ok"),
        ("sandbox.destroy", "older", "failed"),
        ("sandbox.reap", None, "ok"),
    ]


def test_reap_includes_sandboxes_known_only_to_the_backend(
    fake_pulumi: FakePulumi, aws_lab: LabSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack made elsewhere is reaped; one whose spec cannot be read is reported, and does not stop the others."""
    remote = _entry("made-elsewhere", 40, aws_lab).spec
    odd = "sandbox stack odd: its ailab-sandboxes:sandbox config is not a sandbox spec this ailab reads (1 error(s))"
    monkeypatch.setattr(operations.lifecycle, "backend_specs", lambda: ({"made-elsewhere": remote}, {"odd": odd}))
    fake_pulumi.stacks.add("made-elsewhere")
    reaped = operations.reap(dry_run=False, on_output=lines.append)
    assert [(r.audit_id, r.expired_at, r.outcome) for r in reaped] == [
        ("made-elsewhere", remote.expires_at, "destroyed"),
        ("odd", None, f"failed: {odd}"),
    ]
    assert fake_pulumi.destroys == ["made-elsewhere"]
    assert _records()[-1]["outcome"] == "partial"


def test_a_backend_stack_with_an_unreadable_spec_is_reported_not_raised(
    aws_lab: LabSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox stack whose spec config this ailab cannot read is one line beside the readable ones, not a pydantic traceback."""
    from pulumi import automation as auto

    configs = {"made-elsewhere": _entry("made-elsewhere", 40, aws_lab).spec.model_dump_json(), "odd": '{"audit_id": "odd"}'}

    class Workspace:
        def __init__(self, **_options: Any) -> None:
            pass

        def list_stacks(self) -> list[SimpleNamespace]:
            return [SimpleNamespace(name=f"organization/ailab-sandboxes/{name}") for name in configs]

        def refresh_config(self, name: str) -> None:
            pass

        def get_config(self, name: str, key: str) -> auto.ConfigValue:
            return auto.ConfigValue(configs[name])

    monkeypatch.setattr(auto, "LocalWorkspace", Workspace)
    specs, unreadable = lifecycle.backend_specs()
    assert list(specs) == ["made-elsewhere"]
    assert list(unreadable) == ["odd"]
    assert unreadable["odd"].startswith("sandbox stack odd: its ailab-sandboxes:sandbox config is not a sandbox spec")
    assert (
        "\n" not in unreadable["odd"] and "pulumi destroy --remove --stack organization/ailab-sandboxes/odd" in unreadable["odd"]
    )


def test_without_pulumi_cli_changes_stop_with_exit_3(no_pulumi: None, aws_lab: LabSpec) -> None:
    state.save(_entry("old", 30, aws_lab))
    for call in (
        lambda: operations.create(REQUEST, on_output=lines.append),
        lambda: operations.extend("old", "1h", on_output=lines.append),
        lambda: operations.destroy("old", on_output=lines.append),
        lambda: operations.reap(dry_run=False, on_output=lines.append),
    ):
        with pytest.raises(MissingPrerequisiteError, match=r"needs the Pulumi CLI.*curl -fsSL https://get.pulumi.com") as error:
            call()
        assert error.value.exit_code == 3
    assert [r.audit_id for r in operations.reap(dry_run=True, on_output=lines.append)] == ["old"]
    assert operations.plan(REQUEST).gate.passed
    assert [r["outcome"] for r in _records()] == ["refused"] * 4 + ["ok", "ok"]


def test_passphrase_required(fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    with pytest.raises(MissingPrerequisiteError, match="PULUMI_CONFIG_PASSPHRASE_FILE"):
        operations.create(REQUEST, on_output=lines.append)


def test_refused_input_is_logged_as_typed_within_bounds() -> None:
    with pytest.raises(BadInputError):
        operations.plan(dataclasses.replace(REQUEST, audit_id="x" * 10_000, purpose="p" * 10_000))
    (record,) = _records()
    assert record["outcome"] == "refused" and record["audit_id"] == "x" * operations.LOGGED_TEXT
    assert record["arguments"]["purpose"] == "p" * operations.LOGGED_TEXT
