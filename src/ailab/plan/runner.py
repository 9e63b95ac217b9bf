"""Running a Pulumi program in-process under the SDK's mock monitor and collecting its plan.

No Pulumi CLI, no credentials, no cluster: the program's resource registrations are
answered by :class:`~ailab.plan.mocks.LabMocks` and recorded by
:class:`~ailab.plan.monitor.RecordingMonitor`. Each run happens in a fresh
:mod:`contextvars` context, so many plans can run in one process (the SDK keeps its
settings and root stack in context variables).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ailab.errors import BadInputError
from ailab.formats import SECRET
from ailab.plan.graph import Plan
from ailab.plan.monitor import RecordingMonitor, plain

if TYPE_CHECKING:
    from ailab.plan.mocks import StackExports


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    kind: str,
    config: Mapping[str, Any] | None = None,
    secret_keys: frozenset[str] = frozenset(),
    region: str | None = None,
    references: Mapping[str, StackExports] | None = None,
) -> Plan:
    """Run ``program`` with ``config`` (values are JSON-encoded unless already strings) and return its plan.

    ``references`` answers the program's ``StackReference`` reads (see :class:`~ailab.plan.mocks.LabMocks`).
    """
    return run_program_with_exports(
        program,
        project=project,
        stack=stack,
        kind=kind,
        config=config,
        secret_keys=secret_keys,
        region=region,
        references=references,
    )[0]


def run_program_with_exports(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    kind: str,
    config: Mapping[str, Any] | None = None,
    secret_keys: frozenset[str] = frozenset(),
    region: str | None = None,
    references: Mapping[str, StackExports] | None = None,
) -> tuple[Plan, StackExports]:
    """:func:`run_program`, and the stack's outputs as another stack's ``StackReference`` would read them."""
    context = contextvars.Context()
    return context.run(_run, program, project, stack, kind, dict(config or {}), secret_keys, region, dict(references or {}))


def _run(
    program: Callable[[], None],
    project: str,
    stack: str,
    kind: str,
    config: dict[str, Any],
    secret_keys: frozenset[str],
    region: str | None,
    references: dict[str, StackExports],
) -> tuple[Plan, StackExports]:
    import pulumi

    from ailab.plan import pulumi_runtime
    from ailab.plan.mocks import LabMocks

    pulumi_runtime.ensure_event_loop()
    mocks = LabMocks(region, references)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi_runtime.set_stack_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        secret_keys,
    )
    try:
        pulumi_runtime.run_stack_function(program)
        exports = _stack_exports()
    except BaseException as err:
        pulumi_runtime.abandon_failed_run()
        if isinstance(err, pulumi.RunError):
            raise BadInputError(f"stack {stack}: {err}") from None
        raise
    outputs = {name: SECRET if name in exports.secret_names else plain(value) for name, value in exports.values.items()}
    return Plan(project, stack, kind, tuple(monitor.recorded), outputs), exports


def _stack_exports() -> StackExports:
    """The root stack's exports, resolved, and which of them are secret."""
    from pulumi import Output

    from ailab.plan.mocks import StackExports
    from ailab.plan.pulumi_runtime import resolve, root_stack_exports

    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for name, value in sorted(root_stack_exports().items()):
        output = Output.from_input(value)
        values[name] = resolve(output.future())
        if resolve(output.is_secret()):
            secrets.add(name)
    return StackExports(values, frozenset(secrets))
