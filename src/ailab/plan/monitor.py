"""A mock monitor that also records what the program asked for.

The Pulumi SDK's :class:`~pulumi.runtime.mocks.MockMonitor` (the official unit-testing
path, accepted by ``set_mocks(monitor=...)``) answers each registration through our
:class:`~pulumi.runtime.Mocks`; this subclass keeps the full request too: parent,
dependencies, provider, options, and the inputs with secrets still marked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi.runtime.mocks import MockMonitor, Mocks

from ailab.formats import SECRET, STACK_TYPE, UNKNOWN
from ailab.plan.graph import PlannedResource
from ailab.plan.pulumi_runtime import deserialize_inputs, is_secret, is_unknown

_DYNAMIC_PROVIDER_KEY = "__provider"


def plain(value: Any) -> Any:
    """A JSON-ready copy of a deserialized property value: secrets hidden, numbers tidy."""
    if is_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: ("[dynamic provider]" if k == _DYNAMIC_PROVIDER_KEY else plain(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if is_unknown(value):
        return UNKNOWN
    urn = getattr(value, "urn", None)
    if urn is not None:
        return "[resource]"
    return str(value)


class RecordingMonitor(MockMonitor):
    """Answers like the SDK's mock monitor and keeps every registration, in order."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        """A read (a ``StackReference``, a ``get``) is in the plan too: the policy rules see what a layer reads from where."""
        read: Callable[[MockMonitor, Any], Any] = MockMonitor.ReadResource
        response = read(self, request)
        self.recorded.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                provider=request.provider or None,
                dependencies=tuple(sorted(set(request.dependencies))),
                inputs={"name": request.id},  # what the engine records as a StackReference's input
                options={"read": True},
            )
        )
        return response

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        # The SDK's MockMonitor is untyped: its answer is taken through a typed reference.
        register: Callable[[MockMonitor, Any], Any] = MockMonitor.RegisterResource
        response = register(self, request)
        inputs = deserialize_inputs(request.object) if request.type != STACK_TYPE else {}
        options: dict[str, Any] = {}
        if request.retainOnDelete:
            options["retainOnDelete"] = True
        if request.deleteBeforeReplace:
            options["deleteBeforeReplace"] = True
        if request.ignoreChanges:
            options["ignoreChanges"] = sorted(request.ignoreChanges)
        if request.additionalSecretOutputs:
            options["additionalSecretOutputs"] = sorted(request.additionalSecretOutputs)
        self.recorded.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                provider=request.provider or None,
                dependencies=tuple(sorted(set(request.dependencies))),
                inputs=plain(inputs),
                protect=bool(request.protect),
                options=options,
            )
        )
        return response
