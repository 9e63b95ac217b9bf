"""``ailab sandbox`` and ``ailab audit`` through the real typer app: messages, exit codes, output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.sandbox.conftest import FakePulumi
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.sandbox import lock
from ailab.sandbox.auditlog import AuditLog

runner = CliRunner()
CREATE = [
    "sandbox",
    "create",
    "2025-017-chatbot",
    "--team",
    "alice,bob",
    "--profile",
    "gpu-mig",
    "--stack",
    "aws-eu",
    "--ttl",
    "24h",
]
PLAN = ["sandbox", "plan", *CREATE[2:]]


@pytest.mark.parametrize("bad", ["../x", "a b", "Upper", "a;rm -rf ~", "a$(id)", "x" * 41])
def test_bad_audit_ids_exit_2_with_the_rule(bad: str) -> None:
    result = runner.invoke(app, ["sandbox", "plan", bad, "--team", "alice", "--profile", "cpu-small", "--stack", "aws-eu"])
    assert result.exit_code == 2
    assert f"error: audit id {bad!r}: use 1 to 40 lower-case letters" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--ttl", "3 days"], "error: --ttl: '3 days' is not a duration; write a whole number and m, h or d"),
        (["--ttl", "8d"], "error: --ttl 8d: profile gpu-mig allows at most 7d"),
        (["--ttl", "99999999999d"], "error: --ttl: '99999999999d' is too long a duration; at most 1000000d"),
        (["--gpus", "3"], "error: --gpus 3: profile gpu-mig allows 0 to 1"),
        (["--team", "alice;id"], "error: --team: 'alice;id' does not look like a username"),
        (
            ["--data-classification", "restricted"],
            "error: --data-classification restricted: this lab is cleared for confidential",
        ),
        (["--profile", "huge"], "error: --profile 'huge': no such sandbox profile"),
        (["--stack", "nowhere"], "no such stack file; known stacks: aws-eu, onprem"),
    ],
)
def test_bad_arguments_exit_2(arguments: list[str], message: str) -> None:
    result = runner.invoke(app, [*PLAN, *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_plan_prints_tree_counts_and_verdict(tmp_path: Path) -> None:
    result = runner.invoke(app, [*PLAN, "--json", str(tmp_path / "plan.json")])
    assert result.exit_code == 0, result.output
    assert "ailab:sandbox:AuditSandbox 2025-017-chatbot" in result.output
    assert "Resources to create, by type:" in result.output and "to create  (" in result.output
    assert "policy gate: pass" in result.output
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["format"] == "ailab.plan/v1" and plan["program"] == "sandbox"


def test_plan_json_to_stdout() -> None:
    result = runner.invoke(app, [*PLAN, "--json", "-"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["stack"] == "2025-017-chatbot"


def test_plan_needs_a_stack_when_there_are_several() -> None:
    result = runner.invoke(app, ["sandbox", "plan", "a1", "--team", "alice", "--profile", "cpu-small"])
    assert result.exit_code == 2
    assert "--stack: this project has the lab stacks aws-eu, onprem; choose one" in result.output


@pytest.mark.parametrize(
    "command",
    [CREATE, ["sandbox", "destroy", "a1", "--yes"], ["sandbox", "reap"]],
)
def test_changes_without_pulumi_cli_exit_3(no_pulumi: None, command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 3, result.output
    assert "needs the Pulumi CLI, which is not on PATH" in result.output
    assert "curl -fsSL https://get.pulumi.com | sh" in result.output


def test_extending_a_sandbox_this_machine_does_not_know_says_so_first(no_pulumi: None) -> None:
    """Not the missing tools: with them, the extend would fail the same way (tests/sandbox/test_prerequisites.py
    covers a known sandbox's missing prerequisites)."""
    result = runner.invoke(app, ["sandbox", "extend", "a1", "--by", "1h"])
    assert result.exit_code == 2, result.output
    assert "no sandbox 'a1' on this machine" in result.output and "Pulumi CLI" not in result.output


def test_reads_work_without_pulumi_cli(no_pulumi: None) -> None:
    for command in (["sandbox", "list"], ["sandbox", "reap", "--dry-run"], ["audit", "show"], ["audit", "verify"], PLAN):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)


def test_create_list_show_extend_destroy(fake_pulumi: FakePulumi) -> None:
    created = runner.invoke(app, CREATE)
    assert created.exit_code == 0, created.output
    assert "Sandbox 2025-017-chatbot created" in created.output
    assert "alice: generated-password-of-alice-0123" in created.output  # shown once
    assert "Updating (2025-017-chatbot)" in created.output  # the engine's progress, on stderr

    listed = runner.invoke(app, ["sandbox", "list", "--json"])
    (row,) = json.loads(listed.stdout)
    assert row["audit_id"] == "2025-017-chatbot" and row["team"] == ["alice", "bob"] and row["gpus"] == 1
    assert row["status"] == "ready" and row["profile"] == "gpu-mig"
    table = runner.invoke(app, ["sandbox", "list"])
    assert "2025-017-chatbot" in table.output and "ready" in table.output

    shown = runner.invoke(app, ["sandbox", "show", "2025-017-chatbot"])
    assert shown.exit_code == 0 and "audit-2025-017-chatbot" in shown.output and "sandbox.create ok" in shown.output
    assert "generated-password" not in shown.output

    extended = runner.invoke(app, ["sandbox", "extend", "2025-017-chatbot", "--by", "1d"])
    assert extended.exit_code == 0, extended.output
    too_long = runner.invoke(app, ["sandbox", "extend", "2025-017-chatbot", "--by", "7d"])
    assert too_long.exit_code == 2 and "past its profile's maximum lifetime" in too_long.output

    assert runner.invoke(app, ["sandbox", "destroy", "2025-017-chatbot", "--yes"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["sandbox", "list", "--json"]).stdout) == []


def test_show_unknown_sandbox() -> None:
    result = runner.invoke(app, ["sandbox", "show", "nope"])
    assert result.exit_code == 2 and "no sandbox 'nope' on this machine" in result.output


def test_locked_sandbox_names_the_holder(fake_pulumi: FakePulumi) -> None:
    with lock.sandbox_lock("2025-017-chatbot", "ailab sandbox destroy 2025-017-chatbot"):
        result = runner.invoke(app, CREATE)
        assert result.exit_code == 1
        assert "is locked by" in result.output and "running 'ailab sandbox destroy 2025-017-chatbot'" in result.output
        unlock = runner.invoke(app, ["sandbox", "unlock", "2025-017-chatbot"])
        assert unlock.exit_code == 1 and "still running; not unlocking" in unlock.output


def test_unlock_of_a_free_sandbox_exit_2() -> None:
    result = runner.invoke(app, ["sandbox", "unlock", "a1"])
    assert result.exit_code == 2 and "is not locked" in result.output


def test_audit_show_and_verify(ailab_home: Path) -> None:
    runner.invoke(app, PLAN)
    runner.invoke(app, ["sandbox", "plan", "../x", "--team", "a", "--profile", "cpu-small", "--stack", "aws-eu"])
    shown = runner.invoke(app, ["audit", "show", "--json"])
    records = json.loads(shown.stdout)
    assert [(r["action"], r["audit_id"], r["outcome"]) for r in records] == [
        ("sandbox.plan", "2025-017-chatbot", "ok"),
        ("sandbox.plan", "../x", "refused"),
    ]
    only = json.loads(runner.invoke(app, ["audit", "show", "--audit", "../x", "--json"]).stdout)
    assert len(only) == 1
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "2 records, 2 signed checkpoints: intact" in verified.output

    log = AuditLog()
    data = bytearray(log.path.read_bytes())
    data[data.index(b'"outcome":"refused"') + 11] ^= 0x20  # "refused" -> "Refused"
    log.path.write_bytes(bytes(data))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "record 2: does not match checkpoint 2's signed root" in broken.output


def test_typed_text_is_shown_as_text_never_as_markup(fake_pulumi: FakePulumi, tmp_path: Path) -> None:
    """What users type reaches rich tables and lines; '[/b]' there was a MarkupError, '[secret]' vanished."""
    refused = runner.invoke(app, ["sandbox", "plan", "a[/b]", "--team", "alice", "--profile", "cpu-small", "--stack", "aws-eu"])
    assert refused.exit_code == 2
    shown = runner.invoke(app, ["audit", "show"])  # the refused id stays in the log for good
    assert shown.exit_code == 0, shown.output
    assert "a[/b]" in shown.output

    purpose = "Bias [/x] of [secret]"
    created = runner.invoke(app, [*CREATE, "--purpose", purpose])
    assert created.exit_code == 0, created.output
    assert purpose in created.output
    sandbox = runner.invoke(app, ["sandbox", "show", "2025-017-chatbot"])
    assert sandbox.exit_code == 0, sandbox.output
    assert purpose in sandbox.output

    written = runner.invoke(app, [*PLAN, "--no-tree", "--json", str(tmp_path / "plan[/b].json")])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "plan[/b].json").is_file()


def test_reap_reports_an_unreadable_backend_stack_and_exits_1(fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> None:
    from ailab.sandbox import lifecycle

    reason = "sandbox stack odd: its ailab-sandboxes:sandbox config is not a sandbox spec this ailab reads (1 error(s))"
    monkeypatch.setattr(lifecycle, "backend_specs", lambda: ({}, {"odd": reason}))
    result = runner.invoke(app, ["sandbox", "reap"])
    assert result.exit_code == 1, result.output
    assert f"odd (expiry unknown): failed: {reason}\n" in result.output


def test_destroy_asks_and_without_a_terminal_needs_yes(fake_pulumi: FakePulumi) -> None:
    assert runner.invoke(app, CREATE).exit_code == 0
    result = runner.invoke(app, ["sandbox", "destroy", "2025-017-chatbot"])
    assert result.exit_code == 2 and "add --yes to confirm (there is no terminal to ask on)" in result.output
    assert fake_pulumi.destroys == []
    assert runner.invoke(app, ["sandbox", "destroy", "2025-017-chatbot", "--yes"]).exit_code == 0
    assert fake_pulumi.destroys == ["2025-017-chatbot"]


def test_a_failed_sandbox_is_forgotten_without_the_pulumi_cli(no_pulumi: None) -> None:
    from tests.sandbox.helpers import lab, make_spec

    from ailab.sandbox import state
    from ailab.sandbox.state import SandboxEntry, Status

    spec = make_spec(lab("aws-eu"))
    state.save(SandboxEntry(spec=spec, status=Status.FAILED, updated_at=spec.created_at, last_error="pulumi up failed"))
    result = runner.invoke(app, ["sandbox", "forget", spec.audit_id])
    assert result.exit_code == 0 and f"forgot sandbox {spec.audit_id} (failed)" in result.output
    assert state.load(spec.audit_id) is None
    assert [r["action"] for r in AuditLog().records()][-1] == "sandbox.forget"


def test_a_ready_sandbox_is_not_forgotten(no_pulumi: None) -> None:
    from tests.sandbox.helpers import lab, make_spec

    from ailab.sandbox import state
    from ailab.sandbox.state import SandboxEntry, Status

    spec = make_spec(lab("aws-eu"))
    state.save(SandboxEntry(spec=spec, status=Status.READY, updated_at=spec.created_at))
    result = runner.invoke(app, ["sandbox", "forget", spec.audit_id])
    assert result.exit_code == 2 and "use ailab sandbox destroy" in result.output
    assert state.load(spec.audit_id) is not None


def test_plan_ends_with_the_auditors_next_steps() -> None:
    result = runner.invoke(app, PLAN)
    assert result.exit_code == 0, result.output
    assert "Next steps" in result.output and "kubectl config set-credentials ailab-oidc" in result.output
