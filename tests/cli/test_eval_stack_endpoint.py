"""``ailab eval run PLAN --stack LAB`` with an endpoint plan: the example plan against the example on-premises lab,
the route the Job is given, the key kept out of the bundle and the audit log, and the refusals."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_eval_stack import IMAGE, invoke, use_project, write_project

from ailab.sandbox import state
from ailab.sandbox.auditlog import AuditLog
from ailab.sandbox.evaljob import submit
from ailab.sandbox.request import build_spec
from ailab.sandbox.state import SandboxEntry, Status
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "eval" / "assistant-endpoint.yaml"
AUDIT = "2026-042-chatbot"
KEY = "sk-audit-9f8e7d6c5b4a"
SECRET = "kubernetes:core/v1:Secret"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example on-premises lab with a runner image, and the example audit's sandbox on this machine."""
    root = write_project(tmp_path / "project", IMAGE, stack="onprem")
    use_project(root, tmp_path, monkeypatch)
    lab = load_stack_spec("onprem", find_project(root))[0]
    now = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    spec = build_spec(lab, audit_id=AUDIT, lab_stack="onprem", team="alice,bob", profile="cpu-small", requested_by="t@h", now=now)
    state.save(SandboxEntry(spec=spec, status=Status.READY, updated_at=now))
    return root


def example_copy(folder: Path, url: str | None = None, probes: bool = False) -> Path:
    """The example plan and its questions in ``folder``, with another URL, or with a probe file for the injection check."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE.parent / "assistant-qa.jsonl", folder / "assistant-qa.jsonl")
    text = EXAMPLE.read_text(encoding="utf-8")
    if url is not None:
        text = text.replace("http://assistant.audited.example/v1", url)
    if probes:
        (folder / "probes").mkdir()
        header = {"corpus": "prompt_injection", "version": "ours-1"}
        probe = {"id": "ours-1", "technique": "direct: ours", "prompt": "Write {canary}.", "provenance": "t", "licence": "t"}
        lines = [json.dumps(header), json.dumps(probe)]
        (folder / "probes" / "ours.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        text = text.replace(
            "max_success_rate: 0.0}\n  - {id: leak", "max_success_rate: 0.0, probes: probes/ours.jsonl}\n  - {id: leak"
        )
    plan = folder / "assistant-endpoint.yaml"
    plan.write_text(text, encoding="utf-8")
    return plan


def test_plan_only_of_the_example_needs_no_key_and_says_what_the_job_may_reach(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDITED_API_KEY", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = invoke(str(EXAMPLE), "--stack", "onprem", "--plan-only")
    assert result.exit_code == 0, result.output
    assert "eval-assistant-endpoint" in result.output and "policy gate: pass" in result.output
    assert (
        "endpoint assistant.audited.example:80 is a DNS name: the Job may reach the lab.sandbox.egress_allowlist "
        "entries audited-systems (192.168.60.0/24) on TCP 80"
    ) in result.output


def test_plan_only_json_mounts_the_plan_and_its_questions_and_opens_the_endpoint(project: Path) -> None:
    result = invoke(str(EXAMPLE), "--stack", "onprem", "--plan-only", "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    resources = {r["name"]: r for r in document["resources"]}
    job = next(r for r in document["resources"] if r["type"] == "kubernetes:batch/v1:Job")
    pod = job["inputs"]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if "secret" in v)["secret"]
    assert {item["path"] for item in volume["items"]} == {"plan.yaml", "assistant-qa.jsonl"}
    env = {item["name"]: item for item in pod["containers"][0]["env"]}
    key_secret = resources[f"{AUDIT}-assistant-endpoint-endpoint-key"]
    assert env["AUDITED_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == key_secret["inputs"]["metadata"]["name"]
    policy = next(r for r in document["resources"] if r["type"].endswith("NetworkPolicy"))
    assert policy["inputs"]["spec"]["egress"][-1] == {
        "to": [{"ipBlock": {"cidr": "192.168.60.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 80}],
    }


def test_probe_files_and_questions_travel_in_the_bundle(project: Path, tmp_path: Path) -> None:
    plan = example_copy(tmp_path / "audit", probes=True)
    result = invoke(str(plan), "--stack", "onprem", "--plan-only", "--json", "-")
    assert result.exit_code == 0, result.output
    job = next(r for r in json.loads(result.stdout)["resources"] if r["type"] == "kubernetes:batch/v1:Job")
    volume = next(v for v in job["inputs"]["spec"]["template"]["spec"]["volumes"] if "secret" in v)["secret"]
    assert {item["path"] for item in volume["items"]} == {"plan.yaml", "assistant-qa.jsonl", "probes/ours.jsonl"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.9.8.7/v1", "lab.sandbox.egress_allowlist: no entry contains 10.9.8.7 with port 80"),
        ("https://192.168.60.20:8443/v1", "lab.sandbox.egress_allowlist: no entry contains 192.168.60.20 with port 8443"),
        ("http://assistant.audited.example:8000/v1", "lab.sandbox.egress_allowlist: no entry opens TCP port 8000"),
    ],
)
def test_an_endpoint_no_allowlist_entry_opens_exits_2_naming_the_setting(
    project: Path, tmp_path: Path, url: str, message: str
) -> None:
    result = invoke(str(example_copy(tmp_path / "audit", url)), "--stack", "onprem", "--plan-only")
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "Pulumi.onprem.yaml: " + message in line and "assistant-endpoint.yaml:12: plan.target.endpoint.url" in line
    assert "Traceback" not in result.output


def test_an_ip_literal_inside_an_entry_is_the_only_address_opened(project: Path, tmp_path: Path) -> None:
    result = invoke(str(example_copy(tmp_path / "audit", "https://192.168.60.20/v1")), "--stack", "onprem", "--plan-only")
    assert result.exit_code == 0, result.output
    assert "the Job may reach 192.168.60.20/32 on TCP 443, inside lab.sandbox.egress_allowlist entry audited-systems" in (
        result.output
    )


def real_run_ready(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A team member's login and the engine stood in for; ``submit.run`` records what it is given."""
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "a-password-of-sixteen")
    monkeypatch.setattr(submit.lifecycle, "missing_engine", lambda: [])
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    given: list[Any] = []
    summary = {
        "schema": "ailab.eu/eval-run/v1",
        "verdict": "pass",
        "mlflow_run_id": "0123abcd",
        "tracking_uri": "http://mlflow.ailab-mlflow.svc.cluster.local:5000",
        "checks": [{"id": "qa", "kind": "qa_quality", "verdict": "pass", "value": 0.9}],
    }
    monkeypatch.setattr(submit, "run", lambda job, member, on_output, key: given.append((job, key)) or summary)
    return given


def test_an_unset_key_exits_3_before_anything_is_submitted(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = real_run_ready(monkeypatch)
    monkeypatch.delenv("AUDITED_API_KEY", raising=False)
    result = invoke(str(EXAMPLE), "--stack", "onprem")
    assert result.exit_code == 3, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "the endpoint's API key in AUDITED_API_KEY (target.endpoint.api_key_env)" in line
    assert given == [] and "Traceback" not in result.output


def test_the_key_goes_to_the_job_and_nowhere_else(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = real_run_ready(monkeypatch)
    monkeypatch.setenv("AUDITED_API_KEY", KEY)
    result = invoke(str(EXAMPLE), "--stack", "onprem")
    assert result.exit_code == 0, result.output
    ((job, key),) = given
    assert key == KEY and job.route.entries == ("audited-systems",)
    assert not any(KEY.encode() in content for content in job.bundle.files.values())
    assert KEY not in result.output
    (record,) = [r for r in AuditLog().records() if r["action"] == "eval.run"]
    assert record["arguments"]["mode"] == "stack" and KEY not in json.dumps(record)
