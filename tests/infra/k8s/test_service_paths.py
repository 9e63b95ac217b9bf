"""The lab side of AILAB-DEP-006 on the real platform plan: MLflow and Qdrant reachable from the operator's machine."""

from __future__ import annotations

from collections.abc import Callable

from tests.infra.k8s.conftest import Lab

from ailab.policy.engine import evaluate
from ailab.policy.loaders import records_from_plan
from ailab.policy.model import all_rules

RULE = "AILAB-DEP-006"


def _failed(lab: Lab) -> list[str]:
    records = records_from_plan(lab.plan.to_json(), "lab plan")
    report = evaluate(records, rules={RULE: all_rules()[RULE]})
    return sorted(f"{finding.record.name if finding.record else ''}: {finding.message}" for finding in report.failed())


def test_the_example_labs_give_mlflow_and_qdrant_an_ingress(lab: Lab) -> None:
    assert _failed(lab) == []


def test_a_lab_without_ingress_leaves_sandbox_operations_no_path(variant: Callable[..., Lab]) -> None:
    failed = _failed(variant("onprem", ingress=None))
    assert [line.split(":")[0] for line in failed] == ["ailab-platform-mlflow-service", "ailab-platform-qdrant-service"]
    assert all("has no Ingress" in line for line in failed)
