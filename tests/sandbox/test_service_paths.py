"""How sandbox operations reach MLflow and Qdrant: the lab's ingress from the operator's machine.

A lab without an ingress is refused before anything runs, naming the setting; a destroy points the
engine's providers at the ingress URLs the sandbox recorded unless the environment names others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.sandbox.conftest import FakePulumi
from tests.sandbox.helpers import make_spec

from ailab.errors import EXIT_BAD_INPUT, BadInputError
from ailab.sandbox import lifecycle, operations
from ailab.sandbox.auditlog import AuditLog
from ailab.sandbox.gate import check
from ailab.sandbox.operations import Request
from ailab.sandbox.program import plan_sandbox
from ailab.spec.model import LabSpec
from ailab.spec.service_env import MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV

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
