"""What ailab relies on in the Pulumi SDK's runtime internals (``ailab.plan.pulumi_runtime``).

Each test pins one behaviour the offline plan needs, so an SDK upgrade that changes it fails
here, by name, rather than as a wrong plan.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

import pulumi
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import rpc

from ailab.plan import pulumi_runtime
from ailab.plan.mocks import LabMocks

T = TypeVar("T")


def _fresh(run: Callable[[], T]) -> T:
    """``run`` in a fresh context with the mock monitor set, as the plan runner does."""

    def body() -> T:
        pulumi.runtime.set_mocks(LabMocks(), project="proj", stack="dev", preview=False)
        return run()

    return contextvars.Context().run(body)


def test_config_set_is_what_the_program_reads() -> None:
    def run() -> tuple[str | None, bool]:
        pulumi_runtime.set_stack_config({"ailab:team": "blue", "ailab:token": "s3cr3t"}, frozenset({"ailab:token"}))
        config = pulumi.Config("ailab")
        return config.get("team"), pulumi.runtime.is_config_secret("ailab:token")

    assert _fresh(run) == ("blue", True)


def test_the_stack_function_runs_to_completion_and_exports_are_kept() -> None:
    registered: list[str] = []

    def program() -> None:
        component = pulumi.ComponentResource("ailab:test:Box", "box")
        registered.append(component._name)
        pulumi.export("answer", pulumi.Output.from_input(42))
        pulumi.export("token", pulumi.Output.secret("hunter2"))

    def run() -> dict[str, Any]:
        pulumi_runtime.run_stack_function(program)
        exports = pulumi_runtime.root_stack_exports()
        return {
            name: (pulumi_runtime.resolve(value.future()), pulumi_runtime.resolve(value.is_secret()))
            for name, value in exports.items()
        }

    assert _fresh(run) == {"answer": (42, False), "token": ("hunter2", True)}
    assert registered == ["box"]


def test_an_error_in_the_program_reaches_the_caller() -> None:
    def program() -> None:
        raise pulumi.RunError("the spec is wrong")

    with pytest.raises(pulumi.RunError, match="the spec is wrong"):
        _fresh(lambda: pulumi_runtime.run_stack_function(program))


def test_resolve_awaits_on_the_sdk_loop() -> None:
    async def seven() -> int:
        return 7

    assert _fresh(lambda: pulumi_runtime.resolve(seven())) == 7


def test_no_exports_is_an_empty_mapping() -> None:
    assert _fresh(lambda: (pulumi_runtime.run_stack_function(lambda: None), pulumi_runtime.root_stack_exports())[1]) == {}


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def test_unknowns_and_secrets_survive_deserialization() -> None:
    wire = _struct(
        {
            "name": "web",
            "ip": rpc.UNKNOWN,
            "password": {rpc._special_sig_key: rpc._special_secret_sig, "value": "hunter2"},
        }
    )
    inputs = _fresh(lambda: pulumi_runtime.deserialize_inputs(wire))
    assert inputs["name"] == "web" and not pulumi_runtime.is_unknown(inputs["name"])
    assert pulumi_runtime.is_unknown(inputs["ip"])
    assert pulumi_runtime.is_secret(inputs["password"])
    assert not pulumi_runtime.is_secret(inputs["name"])


def test_is_unknown_knows_only_unknowns() -> None:
    assert pulumi_runtime.is_unknown(pulumi.UNKNOWN)
    for value in (None, "", "04da6b54-80e4-46f7-96ec-b56ff0331ba9", 0, {}, []):
        assert not pulumi_runtime.is_unknown(value)
