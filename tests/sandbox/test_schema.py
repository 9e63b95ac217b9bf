"""Every Kubernetes object of a sandbox is valid against the Kubernetes OpenAPI schema of the lab's version (strict)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from ailab.formats import SECRET
from ailab.plan.graph import Plan
from ailab.spec.model import LabSpec


def _manifest(inputs: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server would receive it; the plan hides a Secret's whole ``stringData``."""
    return {**inputs, "stringData": {"hidden": SECRET}} if inputs.get("stringData") == SECRET else inputs


@pytest.mark.parametrize("plan_name", ["mig_plan", "cpu_plan"])
def test_every_object_is_valid(plan_name: str, aws_lab: LabSpec, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(plan_name)
    objects = [r for r in plan.resources if r.custom and r.type.startswith("kubernetes:") and "providers" not in r.type]
    assert len(objects) >= 12
    for resource in objects:
        try:
            kubernetes_validate.validate(_manifest(resource.inputs), aws_lab.cluster.kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource.type} {resource.name}: {'.'.join(map(str, error.path))}: {error.message}")
