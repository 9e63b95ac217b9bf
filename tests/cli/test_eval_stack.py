"""``ailab eval run PLAN --stack LAB`` through the real typer app: the plan-only path, refusals and exit codes.

The Job is planned and gated for real; only the deployment (Pulumi CLI, a cluster) is stood in for.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.sandbox import state
from ailab.sandbox.auditlog import AuditLog
from ailab.sandbox.evaljob import submit
from ailab.sandbox.request import build_spec
from ailab.sandbox.state import SandboxEntry, Status
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[2]
AUDIT = "2025-017-chatbot"
REGISTRY = "registry.example.europa.eu/ailab"
"""Allowed by the example stack's supply_chain (where the institution pushes the lab's own images)."""
IMAGE = f"{REGISTRY}/ailab-eval@sha256:{'3f' * 32}"
PLAN = f"""apiVersion: ailab.eu/v1
kind: EvaluationPlan
metadata:
  name: credit-q4
  audit: {AUDIT}
target:
  model: models:/credit/3
dataset:
  path: data/test.csv
  label: approved
  sensitive_features: [sex]
checks:
  - {{id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.6}}
"""
runner = CliRunner()


def write_project(root: Path, image: str | None, allow: bool = True, stack: str = "aws-eu") -> Path:
    """A copy of the repository's project with ``stack``'s sandbox section given ``image`` (and its registry)."""
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    lines = []
    for line in (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8").splitlines():
        if line == f"        - {REGISTRY}" and not allow:
            continue
        if line == "    sandbox:":
            lines.append(line)
            if image is not None:
                lines.append(f"      eval_runner_image: {image}")
            continue
        lines.append(line)
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    folder = tmp_path / "audit"
    (folder / "data").mkdir(parents=True)
    rows = ["approved,sex,income"] + [f"{i % 2},{'fm'[i % 3 == 0]},{1000 + 37 * i}" for i in range(60)]
    (folder / "data" / "test.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    plan = folder / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    return plan


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project with a runner image, and the audit's sandbox (cpu-small) on this machine."""
    root = write_project(tmp_path / "project", IMAGE)
    use_project(root, tmp_path, monkeypatch)
    lab = load_stack_spec("aws-eu", find_project(root))[0]
    now = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    spec = build_spec(lab, audit_id=AUDIT, lab_stack="aws-eu", team="alice,bob", profile="cpu-small", requested_by="t@h", now=now)
    state.save(SandboxEntry(spec=spec, status=Status.READY, updated_at=now))
    return root


def use_project(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AILAB_PROJECT_DIR", str(root))
    monkeypatch.delenv("AILAB_BACKEND_URL", raising=False)


def invoke(*arguments: str) -> Any:
    return runner.invoke(app, ["eval", "run", *arguments])


def test_plan_only_prints_the_plan_and_a_passing_gate_without_an_engine(
    project: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only")
    assert result.exit_code == 0, result.output
    assert "eval-credit-q4" in result.output and "kubernetes:batch/v1:Job" in result.output
    assert "policy gate: pass" in result.output


def test_plan_only_json_is_the_plan_document(project: Path, plan_file: Path) -> None:
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only", "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["project"] == "ailab-evals" and document["stack"] == f"{AUDIT}-credit-q4"
    jobs = [r for r in document["resources"] if r["type"] == "kubernetes:batch/v1:Job"]
    assert [job["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] for job in jobs] == [IMAGE]


def test_without_the_engine_every_missing_prerequisite_at_once(
    project: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for name in (
        "PULUMI_CONFIG_PASSPHRASE",
        "PULUMI_CONFIG_PASSPHRASE_FILE",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    result = invoke(str(plan_file), "--stack", "aws-eu")
    assert result.exit_code == 3, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    for needed in ("the Pulumi CLI", "a passphrase", "kubectl on PATH", "MLFLOW_TRACKING_USERNAME"):
        assert needed in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (f"{REGISTRY}/ailab-eval:1.4.0", "has no digest; pin it as registry/repository@sha256:"),
        (f"{REGISTRY}/ailab-eval:latest", "is not pinned"),
    ],
)
def test_a_runner_image_without_digest_exits_2(
    image: str, message: str, tmp_path: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_project(write_project(tmp_path / "project", image), tmp_path, monkeypatch)
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only")
    assert result.exit_code == 2, result.output
    assert "sandbox.eval_runner_image" in result.output and message in result.output
    assert "Pulumi.aws-eu.yaml" in result.output and "Traceback" not in result.output


def test_no_runner_image_exits_2_with_the_fix(tmp_path: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_project(write_project(tmp_path / "project", None), tmp_path, monkeypatch)
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only")
    assert result.exit_code == 2, result.output
    assert "lab.sandbox.eval_runner_image is not set; build docker/eval-runner" in result.output


def test_without_the_sandbox_exits_2(tmp_path: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_project(write_project(tmp_path / "project", IMAGE), tmp_path, monkeypatch)
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only")
    assert result.exit_code == 2, result.output
    assert f"audit {AUDIT} has no sandbox on this machine" in result.output
    assert f"ailab sandbox create {AUDIT} --stack aws-eu" in result.output


def test_a_blocking_gate_exits_1_with_the_findings(tmp_path: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_project(tmp_path / "project", IMAGE, allow=False)
    use_project(root, tmp_path, monkeypatch)
    lab = load_stack_spec("aws-eu", find_project(root))[0]
    spec = build_spec(lab, audit_id=AUDIT, lab_stack="aws-eu", team="alice", profile="cpu-small", requested_by="t@h")
    state.save(SandboxEntry(spec=spec, status=Status.READY, updated_at=spec.created_at))
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "a-password-of-sixteen")
    monkeypatch.setattr(submit, "require_prerequisites", lambda job: None)
    submitted: list[Any] = []
    monkeypatch.setattr(submit, "run", lambda *args, **kwargs: submitted.append(args))
    for extra in (["--plan-only"], []):
        result = invoke(str(plan_file), "--stack", "aws-eu", *extra)
        assert result.exit_code == 1, result.output
        assert "AILAB-SUP-002" in result.output and "policy gate: BLOCKED" in result.output
    assert "evaluation 2025-017-chatbot-credit-q4: the policy gate blocked it" in result.output
    assert submitted == []
    (record,) = [r for r in AuditLog().records() if r["action"] == "eval.run"]
    assert record["outcome"] == "blocked" and record["arguments"]["mode"] == "stack"


def test_a_gated_run_prints_the_jobs_result_and_records_it(
    project: Path, plan_file: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cluster stood in for by the runner's result document: the CLI prints and returns what --local would."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "a-password-of-sixteen")
    monkeypatch.setattr(submit, "require_prerequisites", lambda job: None)
    summary = {
        "schema": "ailab.eu/eval-run/v1",
        "verdict": "fail",
        "mlflow_run_id": "0123abcd",
        "tracking_uri": "http://mlflow.ailab-mlflow.svc.cluster.local:5000",
        "checks": [
            {
                "id": "accuracy",
                "kind": "performance",
                "metric": "balanced_accuracy",
                "value": 0.55,
                "threshold": {"min": 0.6},
                "verdict": "fail",
                "interval": [0.5, 0.6],
            }
        ],
    }
    members: list[str] = []
    monkeypatch.setattr(submit, "run", lambda job, member, on_output, key: members.append(member.username) or summary)
    out = tmp_path / "result.json"
    result = invoke(str(plan_file), "--stack", "aws-eu", "--json", str(out))
    assert result.exit_code == 1, result.output
    assert members == ["bob"]
    assert json.loads(out.read_text(encoding="utf-8")) == summary
    assert "credit-q4: FAIL" in result.output and "0.550" in result.output and "min 0.6" in result.output
    (record,) = [r for r in AuditLog().records() if r["action"] == "eval.run"]
    assert record["arguments"]["mode"] == "stack" and record["arguments"]["mlflow_run_id"] == "0123abcd"
    assert record["verdict"] == {"overall": "fail", "checks": {"accuracy": "fail"}}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--local", "--stack", "aws-eu"], "give --local or --stack, not both"),
        (["--plan-only"], "--plan-only plans the in-sandbox Job: give it with --stack LAB"),
        ([], "give --local (on this machine) or --stack LAB"),
    ],
)
def test_mode_options_exit_2(project: Path, plan_file: Path, arguments: list[str], message: str) -> None:
    result = invoke(str(plan_file), *arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_local_model_directory_cannot_reach_the_sandbox(project: Path, plan_file: Path) -> None:
    plan_file.write_text(PLAN.replace("models:/credit/3", "model-dir"), encoding="utf-8")
    result = invoke(str(plan_file), "--stack", "aws-eu", "--plan-only")
    assert result.exit_code == 2, result.output
    assert "plan.yaml:7: plan.target.model: a local model directory does not reach the sandbox" in result.output


def test_the_job_entry_point_is_hidden_and_reports_what_it_lacks(
    plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "run-in-job" not in runner.invoke(app, ["eval", "--help"]).output
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    message = tmp_path / "termination-log"
    result = runner.invoke(app, ["eval", "run-in-job", str(plan_file), "--result", str(message)])
    assert result.exit_code == 3, result.output
    assert json.loads(message.read_text(encoding="utf-8")) == {
        "error": "the evaluation Job needs MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD in its environment"
    }
