"""Shared helpers of the sandbox tests: the example labs, specs and plan lookups."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ailab.plan.graph import Plan, PlannedResource
from ailab.sandbox.request import SandboxSpec, build_spec
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[2]
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
