"""Planning the lab program of a stack offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ailab.errors import BadInputError
from ailab.plan.graph import Plan
from ailab.plan.runner import run_program_with_exports
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import Project, StackConfig, find_project, load_stack_spec

if TYPE_CHECKING:
    from ailab.plan.mocks import StackExports


def plan_lab(stack: str, project: Project | None = None) -> Plan:
    """Validate ``stack``'s spec (errors carry file:line) and run the real lab program under mocks.

    A lab split by ``aws.kubernetes_layer`` is planned layer by layer, as it is deployed: the infrastructure
    stack, then the Kubernetes layer's stack with its ``StackReference`` answered by the infrastructure
    stack's planned outputs. The plan holds both layers' resources (each URN names its stack), so the
    policy rules see the whole lab, and ``stack``'s own outputs.
    """
    from ailab.infra.layers import stack_layer, stack_reference_name

    project = project or find_project()
    spec, stack_config = load_stack_spec(stack, project)
    layers = spec.aws_settings().kubernetes_layer if spec.target == "aws" else None
    if layers is None:
        return _run(stack, stack_config, spec)[0]
    stack_layer(spec, stack)  # refuses a stack the spec does not name, as the program would
    _check_same_spec(
        spec, stack_config, layers.kubernetes_stack if stack == layers.infrastructure_stack else layers.infrastructure_stack
    )
    infrastructure, exports = _run(layers.infrastructure_stack, stack_config, spec)
    reference = stack_reference_name(project.name, layers.infrastructure_stack)
    kubernetes = _run(layers.kubernetes_stack, stack_config, spec, {reference: exports})[0]
    own = infrastructure if stack == layers.infrastructure_stack else kubernetes
    return Plan(project.name, stack, "lab", infrastructure.resources + kubernetes.resources, own.outputs)


def _run(
    stack: str, stack_config: StackConfig, spec: LabSpec, references: Mapping[str, StackExports] | None = None
) -> tuple[Plan, StackExports]:
    """The lab program's plan as ``stack`` with ``stack_config``'s config, and its exports."""
    from ailab.infra.program import run_lab_program

    return run_program_with_exports(
        run_lab_program,
        project=stack_config.project.name,
        stack=stack,
        kind="lab",
        config=stack_config.config,
        secret_keys=stack_config.secret_keys,
        region=spec.region,
        references=references,
    )


def _check_same_spec(spec: LabSpec, stack_config: StackConfig, other: str) -> None:
    """Both layers' stack files must hold one spec: the other layer's file, when there is one, is compared."""
    if not stack_config.project.stack_file(other).is_file():
        return  # not created yet: docs/deploy.md creates it with pulumi config cp, from this one
    other_spec, other_config = load_stack_spec(other, stack_config.project)
    if other_spec != spec:
        raise BadInputError(
            f"{other_config.path}: its ailab:lab differs from {stack_config.path}'s; both layers of one lab share one "
            f"spec: copy it with pulumi config cp -s {stack_config.stack} --dest {other}"
        )
