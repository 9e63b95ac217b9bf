"""Planning the lab program of a stack offline."""

from __future__ import annotations

from ailab.plan.graph import Plan
from ailab.plan.runner import run_program
from ailab.spec.stackfile import Project, find_project, load_stack_spec


def plan_lab(stack: str, project: Project | None = None) -> Plan:
    """Validate ``stack``'s spec (errors carry file:line) and run the real lab program under mocks."""
    from ailab.infra.program import run_lab_program

    project = project or find_project()
    spec, stack_config = load_stack_spec(stack, project)
    return run_program(
        run_lab_program,
        project=project.name,
        stack=stack,
        kind="lab",
        config=stack_config.config,
        secret_keys=stack_config.secret_keys,
        region=spec.region,
    )
