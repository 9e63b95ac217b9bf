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
from typing import Any

from ailab.errors import AilabError, BadInputError
from ailab.formats import SECRET
from ailab.plan.graph import Plan
from ailab.plan.monitor import RecordingMonitor, plain


def run_program(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    kind: str,
    config: Mapping[str, Any] | None = None,
    secret_keys: frozenset[str] = frozenset(),
    region: str | None = None,
) -> Plan:
    """Run ``program`` with ``config`` (values are JSON-encoded unless already strings) and return its plan."""
    context = contextvars.Context()
    return context.run(_run, program, project, stack, kind, dict(config or {}), secret_keys, region)


def _run(
    program: Callable[[], None],
    project: str,
    stack: str,
    kind: str,
    config: dict[str, Any],
    secret_keys: frozenset[str],
    region: str | None,
) -> Plan:
    import pulumi

    from ailab.plan import pulumi_runtime
    from ailab.plan.mocks import LabMocks

    pulumi_runtime.ensure_event_loop()
    mocks = LabMocks(region)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi_runtime.set_stack_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()},
        secret_keys,
    )
    try:
        pulumi_runtime.run_stack_function(program)
        outputs = _stack_outputs()
    except AilabError:
        raise
    except pulumi.RunError as err:
        raise BadInputError(f"stack {stack}: {err}") from None
    return Plan(project, stack, kind, tuple(monitor.recorded), outputs)


def _stack_outputs() -> dict[str, Any]:
    """The root stack's exports, resolved, with secrets hidden."""
    from pulumi import Output

    from ailab.plan.pulumi_runtime import resolve, root_stack_exports

    resolved: dict[str, Any] = {}
    for name, value in sorted(root_stack_exports().items()):
        output = Output.from_input(value)
        resolved[name] = SECRET if resolve(output.is_secret()) else plain(resolve(output.future()))
    return resolved
