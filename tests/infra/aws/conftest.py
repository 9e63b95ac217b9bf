"""The AWS lab run under the SDK mock monitor, with helpers to read what it asked for.

One plan of ``stacks/Pulumi.aws-eu.yaml`` is shared by the tests of this folder (a run takes
seconds); tests that need another spec use ``plan_variant(**{"dotted.path": value})``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from ailab.infra.aws.lab import AwsLab, AwsLabArgs
from ailab.plan.graph import Plan, PlannedResource
from ailab.plan.runner import run_program
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[3]


@dataclass
class LabPlan:
    """A plan of :class:`AwsLab` plus the values of its attributes, secrets included, captured in the run."""

    spec: LabSpec
    plan: Plan
    values: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return self.plan.of_type(type_token)

    def one(self, type_token: str, name: str | None = None) -> PlannedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> dict[str, PlannedResource]:
        """Resources called ``name``, by type (one name is shared by e.g. a bucket and its settings)."""
        return {r.type: r for r in self.plan.resources if r.name == name}

    def parent(self, resource: PlannedResource) -> PlannedResource | None:
        return self.plan.by_urn().get(resource.parent) if resource.parent else None

    def aws_resources(self) -> list[PlannedResource]:
        return [r for r in self.plan.custom_resources() if r.type.startswith("aws:")]

    @staticmethod
    def document(resource: PlannedResource, key: str = "policy") -> dict[str, Any]:
        """A policy document input, parsed."""
        text = resource.inputs[key]
        assert isinstance(text, str), f"{resource.name}.{key} is not a JSON document: {text!r}"
        return json.loads(text)

    @classmethod
    def statements(cls, resource: PlannedResource, key: str = "policy") -> list[dict[str, Any]]:
        return cls.document(resource, key)["Statement"]


def plan_lab_for(spec: LabSpec) -> LabPlan:
    """Plan ``AwsLab`` for ``spec`` and capture its attributes' resolved values."""
    values: dict[str, Any] = {}

    def keep(name: str, output: pulumi.Input[Any]) -> None:
        pulumi.Output.from_input(output).apply(lambda value: values.__setitem__(name, value))

    def program() -> None:
        lab = AwsLab(spec.name, AwsLabArgs(spec=spec))
        storage = lab.mlflow_storage
        for name, output in {
            "kubeconfig": lab.kubeconfig,
            "cluster_name": lab.cluster_name,
            "artifact_bucket": lab.artifact_bucket,
            "vpc_id": lab.vpc_id,
            "volume_key_arn": lab.volume_key_arn,
            "evidence_bucket": lab.evidence_bucket,
            "trail_signing_key": lab.trail_signing_key,
            "backend_store_uri": storage.backend_store_uri,
            "artifacts_destination": storage.artifacts_destination,
            "service_account_annotations": dict(storage.service_account_annotations),
        }.items():
            keep(name, output)
            pulumi.export(name, output)

    plan = run_program(program, project="ailab", stack="test", kind="lab", region=spec.region)
    return LabPlan(spec, plan, values)


@pytest.fixture(scope="session")
def spec() -> LabSpec:
    return load_stack_spec("aws-eu", find_project(REPO))[0]


@pytest.fixture(scope="session")
def lab(spec: LabSpec) -> LabPlan:
    return plan_lab_for(spec)


def variant(spec: LabSpec, changes: dict[str, Any]) -> LabSpec:
    """``spec`` with fields replaced by dotted path (``{"access.oidc": None}``), validated again."""
    data = spec.model_dump(mode="python")  # keeps SecretStr values, so secrets survive the round trip
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[last] = value
    return LabSpec.model_validate(data)


@pytest.fixture(scope="session")
def spec_variant(spec: LabSpec) -> Callable[..., LabSpec]:
    return lambda **changes: variant(spec, changes)


@pytest.fixture(scope="session")
def plan_variant(spec: LabSpec) -> Callable[..., LabPlan]:
    """Plan the lab for the example spec with ``changes`` applied."""
    return lambda **changes: plan_lab_for(variant(spec, changes))
