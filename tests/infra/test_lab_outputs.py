"""The lab → sandbox contract: what the lab program exports is what the sandbox program reads (``LabOutputs``)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pulumi
import pytest

from ailab.infra.contracts import LabNamespaces, LabOutputs, export_lab_outputs, lab_output_names, output_name, read_lab_outputs
from ailab.plan.graph import Plan
from ailab.plan.lab import plan_lab
from ailab.plan.runner import run_program
from ailab.spec import find_project

REPO = Path(__file__).resolve().parents[2]
STACKS = {"aws-eu": "aws", "onprem": "onprem"}
CONTRACT = {output_name(f.name) for f in fields(LabOutputs)}


@pytest.fixture(scope="module")
def lab_plans() -> dict[str, Plan]:
    project = find_project(REPO)
    return {stack: plan_lab(stack, project) for stack in STACKS}


class RecordingReference:
    """Stands in for a ``pulumi.StackReference`` on a lab stack with ``outputs``; records what is read, and how."""

    def __init__(self, outputs: dict[str, Any]) -> None:
        self.outputs = outputs
        self.required: list[str] = []
        self.optional: list[str] = []

    def require_output(self, name: str) -> pulumi.Output[Any]:
        self.required.append(name)
        return pulumi.Output.from_input(self.outputs[name])

    def get_output(self, name: str) -> pulumi.Output[Any]:
        self.optional.append(name)
        return pulumi.Output.from_input(self.outputs.get(name))


def test_output_names_are_the_fields_in_camel_case() -> None:
    assert output_name("mlflow_admin_password") == "mlflowAdminPassword"
    assert output_name("target") == "target"
    assert {output_name(f.name) for f in fields(LabNamespaces)} == {"mlflow", "vectorDb", "gpu"}
    assert lab_output_names("aws") - lab_output_names("onprem") == {"kubeconfig"}
    assert lab_output_names("onprem") - lab_output_names("aws") == {"kubeContext"}


@pytest.mark.parametrize(("stack", "target"), STACKS.items())
def test_the_lab_program_exports_the_whole_contract(stack: str, target: str, lab_plans: dict[str, Plan]) -> None:
    """A field renamed or added on one side only fails here, not in a sandbox's deployment."""
    outputs = lab_plans[stack].outputs
    assert lab_output_names(target) <= outputs.keys()
    assert outputs["target"] == target
    for secret in ("mlflowAdminPassword", "qdrantApiKey", "kubeconfig"):
        assert outputs.get(secret, "[secret]") == "[secret]", secret
    assert set(outputs["namespaces"]) == {"mlflow", "vectorDb", "gpu"}


@pytest.mark.parametrize(("stack", "target"), STACKS.items())
def test_the_reader_requires_what_every_lab_exports_and_reads_it_back(
    stack: str, target: str, lab_plans: dict[str, Plan]
) -> None:
    """Read through a StackReference and exported again, the lab's outputs come back unchanged (secrets still secret)."""
    exported = lab_plans[stack].outputs
    reference = RecordingReference(exported)

    def program() -> None:
        export_lab_outputs(read_lab_outputs(reference, target))  # type: ignore[arg-type]

    again = run_program(program, project="ailab-sandboxes", stack="contract", kind="sandbox")
    assert set(reference.required) == lab_output_names(target)
    assert set(reference.optional) == {"mlflowExternalUrl", "qdrantExternalUrl"}
    assert again.outputs == {name: value for name, value in exported.items() if name in CONTRACT}
