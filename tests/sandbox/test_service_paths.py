"""How sandbox operations reach MLflow and Qdrant: the lab's ingress from the operator's machine.

A lab without an ingress is refused before anything runs, naming the setting; a destroy points the
engine's providers at the ingress URLs the sandbox recorded unless the environment names others;
create, extend, destroy and reap hand the engine the lab's CA (``lab.ingress.ca_bundle``) unless
the environment names one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.lab_ca import LabCa
from tests.sandbox.conftest import FakePulumi
from tests.sandbox.helpers import make_spec

from ailab.errors import EXIT_BAD_INPUT, BadInputError
from ailab.sandbox import lifecycle, operations
from ailab.sandbox.auditlog import AuditLog
from ailab.sandbox.gate import check
from ailab.sandbox.operations import Request
from ailab.sandbox.program import plan_sandbox
from ailab.sandbox.request import utc_now
from ailab.spec.model import LabSpec
from ailab.spec.service_env import CA_BUNDLE_ENV, MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV
from ailab.spec.stackfile import find_project

REQUEST = Request(audit_id="2025-017-chatbot", team="alice,bob", profile="gpu-mig", lab_stack="aws-eu", ttl="24h")


def test_create_on_a_lab_without_ingress_names_the_setting(fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Request.lab

    def without_ingress(self: Request, project: Any) -> tuple[str, LabSpec]:
        stack, lab = original(self, project)
        return stack, lab.model_copy(update={"ingress": None})

    monkeypatch.setattr(Request, "lab", without_ingress)
    with pytest.raises(BadInputError) as refused:
        operations.create(REQUEST, on_output=lambda _line: None)
    message = str(refused.value)
    assert refused.value.exit_code == EXIT_BAD_INPUT and "\n" not in message
    assert message.startswith("stacks/Pulumi.aws-eu.yaml: lab.ingress is not set, so ailab sandbox create cannot reach MLflow")
    assert fake_pulumi.ups == []
    (record,) = AuditLog().records()
    assert record["outcome"] == "refused"


@dataclass
class _Output:
    value: Any


@dataclass
class _Workspace:
    env_vars: dict[str, str] = field(default_factory=dict)


@dataclass
class _Stack:
    """What :func:`lifecycle._use_recorded_endpoints` reads of an Automation API stack."""

    recorded: dict[str, Any]
    workspace: _Workspace = field(default_factory=_Workspace)

    def outputs(self) -> dict[str, _Output]:
        return {name: _Output(value) for name, value in self.recorded.items()}


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MLFLOW_ADMIN_URL_ENV, raising=False)
    monkeypatch.delenv(QDRANT_ADMIN_URL_ENV, raising=False)
    monkeypatch.delenv(CA_BUNDLE_ENV, raising=False)


def test_destroy_uses_the_recorded_ingress_urls(clean_environment: None) -> None:
    stack = _Stack({"mlflowExternalUrl": "https://mlflow.lab.example", "qdrantExternalUrl": "https://qdrant.lab.example"})
    lifecycle._use_recorded_endpoints(stack)  # type: ignore[arg-type]
    assert stack.workspace.env_vars == {
        MLFLOW_ADMIN_URL_ENV: "https://mlflow.lab.example",
        QDRANT_ADMIN_URL_ENV: "https://qdrant.lab.example",
    }


def test_the_environment_of_the_process_wins(clean_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-cluster reaper names the cluster-local URLs itself; what the sandbox recorded must not override them."""
    monkeypatch.setenv(MLFLOW_ADMIN_URL_ENV, "http://mlflow.ailab-mlflow.svc.cluster.local:5000")
    stack = _Stack({"mlflowExternalUrl": "https://mlflow.lab.example", "qdrantExternalUrl": None})
    lifecycle._use_recorded_endpoints(stack)  # type: ignore[arg-type]
    assert stack.workspace.env_vars == {}


def test_the_gate_refuses_a_sandbox_recording_cluster_local_endpoints(aws_lab: LabSpec) -> None:
    """Without an ingress, the plan falls back to the Services' cluster-local names: AILAB-DEP-006 blocks it."""
    offline = aws_lab.model_copy(update={"ingress": None})
    gate = check(plan_sandbox(make_spec(offline), offline), offline)
    blocking = sorted((finding.rule.id, finding.evidence[0].path, finding.evidence[0].value) for finding in gate.blocking)
    assert blocking == [
        ("AILAB-DEP-006", "tracking_url", "http://mlflow.ailab-mlflow.svc.cluster.local:5000"),
        ("AILAB-DEP-006", "url", "http://qdrant.ailab-vectordb.svc.cluster.local:6333"),
    ]
    assert check(plan_sandbox(make_spec(aws_lab), aws_lab), aws_lab).passed


def _with_ca(lab: LabSpec) -> LabSpec:
    assert lab.ingress is not None
    return lab.model_copy(update={"ingress": lab.ingress.model_copy(update={"ca_bundle": "certs/lab-ca.pem"})})


def test_create_extend_and_destroy_hand_the_engine_the_lab_ca(
    fake_pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, clean_environment: None
) -> None:
    real = operations.load_stack_spec
    monkeypatch.setattr(operations, "load_stack_spec", lambda stack, project: (_with_ca(real(stack, project)[0]), None))
    operations.create(REQUEST, on_output=lambda _line: None)
    operations.extend(REQUEST.audit_id, "1d", on_output=lambda _line: None)
    bundle = find_project().root / "certs" / "lab-ca.pem"
    assert fake_pulumi.ca_bundles == [bundle, bundle]
    # destroy reads the lab the sandbox recorded (aws-eu) again, through sandbox_lab_ca
    monkeypatch.setattr(lifecycle, "sandbox_lab_ca", lambda lab_stack: Path(f"/labs/{lab_stack}/lab-ca.pem"))
    operations.destroy(REQUEST.audit_id, on_output=lambda _line: None)
    assert fake_pulumi.ca_bundles[-1] == Path("/labs/aws-eu/lab-ca.pem")


def test_the_engine_is_told_the_lab_ca_unless_the_environment_names_one(
    clean_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = _Stack({})
    lifecycle._use_lab_ca(stack, Path("/project/certs/lab-ca.pem"))  # type: ignore[arg-type]
    assert stack.workspace.env_vars == {CA_BUNDLE_ENV: "/project/certs/lab-ca.pem"}
    lifecycle._use_lab_ca(stack := _Stack({}), None)  # type: ignore[arg-type]
    assert stack.workspace.env_vars == {}
    monkeypatch.setenv(CA_BUNDLE_ENV, "/etc/ssl/my-ca.pem")
    lifecycle._use_lab_ca(stack, Path("/project/certs/lab-ca.pem"))  # type: ignore[arg-type]
    assert stack.workspace.env_vars == {}


def test_destroy_finds_the_lab_ca_of_the_sandbox_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = find_project()
    shutil.copy(repo.root / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks").mkdir()
    ranges = "      source_ranges: [10.200.0.0/24]\n"
    text = repo.stack_file("aws-eu").read_text(encoding="utf-8")
    (tmp_path / "stacks" / "Pulumi.aws-eu.yaml").write_text(text.replace(ranges, ranges + "      ca_bundle: lab-ca.pem\n"))
    (tmp_path / "lab-ca.pem").write_bytes(LabCa.make().pem)
    monkeypatch.setenv("AILAB_PROJECT_DIR", str(tmp_path))
    assert lifecycle.sandbox_lab_ca("aws-eu") == tmp_path / "lab-ca.pem"
    assert lifecycle.sandbox_lab_ca("gone") is None  # a lab stack this project no longer has: the system store
    monkeypatch.setenv("AILAB_PROJECT_DIR", str(tmp_path / "stacks"))
    (tmp_path / "Pulumi.yaml").unlink()
    assert lifecycle.sandbox_lab_ca("aws-eu") is None  # no project here: the in-cluster reaper


def test_reap_destroys_a_backend_sandbox_with_its_lab_ca(
    fake_pulumi: FakePulumi, aws_lab: LabSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = make_spec(aws_lab, audit_id="made-elsewhere", ttl="24h", now=utc_now() - timedelta(hours=40))
    monkeypatch.setattr(lifecycle, "backend_specs", lambda: ({"made-elsewhere": remote}, {}))
    monkeypatch.setattr(lifecycle, "sandbox_lab_ca", lambda lab_stack: Path(f"/labs/{lab_stack}/lab-ca.pem"))
    fake_pulumi.stacks.add("made-elsewhere")
    reaped = operations.reap(dry_run=False, on_output=lambda _line: None)
    assert [(r.audit_id, r.outcome) for r in reaped] == [("made-elsewhere", "destroyed")]
    assert fake_pulumi.ca_bundles == [Path("/labs/aws-eu/lab-ca.pem")]
