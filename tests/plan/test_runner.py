"""The offline plan runner: the SDK mock monitor, isolation between runs, secrets, the JSON format."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from ailab.errors import BadInputError
from ailab.formats import PLAN_FORMAT, SECRET, STACK_TYPE
from ailab.plan.graph import Plan
from ailab.plan.runner import run_program


def _program() -> None:
    config = pulumi.Config("ailab")
    component = pulumi.ComponentResource("ailab:test:Box", "box")
    namespace = k8s.core.v1.Namespace("ns", metadata={"name": "box", "labels": {"team": config.require("team")}})
    k8s.core.v1.Secret(
        "token",
        metadata={"namespace": namespace.metadata.name},
        string_data={"token": pulumi.Output.secret("hunter2-hunter2")},
        opts=pulumi.ResourceOptions(parent=component, protect=True),
    )
    pulumi.export("namespace", namespace.metadata.name)
    pulumi.export("token", pulumi.Output.secret("hunter2-hunter2"))


def _plan(stack: str = "dev", team: str = "blue") -> Plan:
    return run_program(_program, project="ailab", stack=stack, kind="lab", config={"ailab:team": team})


def test_records_types_parents_and_dependencies() -> None:
    plan = _plan()
    by_name = {r.name: r for r in plan.resources}
    assert by_name["ailab-dev"].type == STACK_TYPE
    assert by_name["box"].custom is False and by_name["box"].parent == by_name["ailab-dev"].urn
    secret = by_name["token"]
    assert secret.parent == by_name["box"].urn
    assert by_name["ns"].urn in secret.dependencies
    assert secret.protect is True
    assert by_name["ns"].inputs["metadata"]["labels"] == {"team": "blue"}


def test_secrets_never_appear() -> None:
    text = json.dumps(_plan().to_json())
    assert "hunter2" not in text
    plan = _plan()
    assert plan.outputs == {"namespace": "box", "token": SECRET}
    assert next(r for r in plan.resources if r.name == "token").inputs["stringData"] == SECRET


def test_runs_are_isolated() -> None:
    first, second = _plan("one", "red"), _plan("two", "green")
    assert all(r.urn.startswith("urn:pulumi:one::") for r in first.resources)
    assert all(r.urn.startswith("urn:pulumi:two::") for r in second.resources)
    assert len(first.resources) == len(second.resources) == 4


def test_json_round_trip_is_stable() -> None:
    data = _plan().to_json()
    assert data["format"] == PLAN_FORMAT
    assert [r["urn"] for r in data["resources"]] == sorted(r["urn"] for r in data["resources"])
    assert Plan.from_json(json.loads(json.dumps(data))).to_json() == data


def test_program_errors_become_one_line() -> None:
    def failing() -> None:
        raise pulumi.RunError("lab.cluster.name: wrong")

    with pytest.raises(BadInputError, match=r"^stack dev: lab.cluster.name: wrong$"):
        run_program(failing, project="ailab", stack="dev", kind="lab")


@pytest.mark.parametrize(
    ("data", "message"),
    [({"format": "x"}, "not an ailab plan"), ([], "not an ailab plan"), ({"format": PLAN_FORMAT}, "malformed plan")],
)
def test_foreign_json_is_refused(data: object, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        Plan.from_json(data, "p.json")


def test_planning_works_after_asyncio_run_elsewhere_in_the_process() -> None:
    """asyncio.run() leaves the thread without a current loop; the SDK's get_event_loop() would raise."""
    import asyncio

    from ailab.plan.lab import plan_lab

    asyncio.run(asyncio.sleep(0))
    assert len(plan_lab("onprem").resources) > 30


def test_a_program_failing_in_an_apply_leaves_the_next_run_alone() -> None:
    """Its pending outputs outlive it (on the thread's loop, in the SDK's shared set); the next run must not await them."""

    def failing() -> None:
        namespace = k8s.core.v1.Namespace("ns", metadata={"name": "box"})

        def refuse(name: str) -> str:
            raise BadInputError(f"namespace {name}: refused")

        k8s.core.v1.ConfigMap("settings", metadata={"namespace": namespace.metadata.name.apply(refuse)})
        for index in range(20):  # outputs still pending when the failure ends the run
            k8s.core.v1.ConfigMap(f"more-{index}", metadata={"namespace": namespace.metadata.name})

    with pytest.raises(BadInputError, match="namespace box: refused"):
        run_program(failing, project="ailab", stack="dev", kind="lab")
    assert len(_plan().resources) == 4
