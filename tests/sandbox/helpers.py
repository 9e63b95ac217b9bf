"""Shared helpers of the sandbox tests: the example labs, specs, plans on the lab plan's outputs, plan lookups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from ailab.formats import SECRET
from ailab.plan.graph import Plan, PlannedResource
from ailab.plan.mocks import LabMocks
from ailab.plan.runner import run_program
from ailab.sandbox.program import SANDBOX_PROJECT, connection_from_stack, sandbox_program
from ailab.sandbox.request import SandboxSpec, build_spec
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_STACKS = ("aws-eu", "onprem")
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def lab(stack: str) -> LabSpec:
    return load_stack_spec(stack, find_project(REPO))[0]


def make_spec(lab_spec: LabSpec, stack: str = "aws-eu", **overrides: Any) -> SandboxSpec:
    """The example request (gpu-mig, alice and bob, a group), with ``overrides``."""
    arguments: dict[str, Any] = {
        "audit_id": "2025-017-chatbot",
        "lab_stack": stack,
        "team": "alice,bob@example.europa.eu",
        "profile": "gpu-mig",
        "requested_by": "tester@host",
        "group": "audit-17",
        "now": NOW,
    }
    arguments.update(overrides)
    return build_spec(lab_spec, **arguments)


def only(plan: Plan, type_token: str, name_suffix: str = "") -> PlannedResource:
    """The one resource of ``type_token`` whose name ends with ``name_suffix``."""
    found = [r for r in plan.of_type(type_token) if r.name.endswith(name_suffix)]
    assert len(found) == 1, [r.name for r in plan.of_type(type_token)]
    return found[0]


@contextmanager
def lab_stack_answering(outputs: Mapping[str, Any], references: list[str] | None = None) -> Iterator[None]:
    """StackReferences answered as the engine answers them from a lab stack with ``outputs``.

    Outputs that read ``[secret]`` (a plan's secrets) are the stack's secret outputs. The names
    of the referenced stacks are appended to ``references``.
    """
    original = LabMocks.new_resource

    def new_resource(self: LabMocks, args: Any) -> tuple[str, dict[str, Any]]:
        if args.typ != "pulumi:pulumi:StackReference":
            return original(self, args)
        if references is not None:
            references.append(args.name)
        secret = sorted(name for name, value in outputs.items() if value == SECRET)
        return args.name, {"name": args.name, "outputs": dict(outputs), "secretOutputNames": secret}

    with mock.patch.object(LabMocks, "new_resource", new_resource):
        yield


def plan_on_lab_outputs(
    spec: SandboxSpec, lab_spec: LabSpec, outputs: Mapping[str, Any], references: list[str] | None = None
) -> Plan:
    """The sandbox program as deployed: reading the lab stack (answered with ``outputs``) through the typed reader."""
    program = sandbox_program(spec, lab_spec, lambda: connection_from_stack(lab_spec, spec.lab_stack))
    with lab_stack_answering(outputs, references):
        return run_program(program, project=SANDBOX_PROJECT, stack=spec.audit_id, kind="sandbox", region=lab_spec.region)
