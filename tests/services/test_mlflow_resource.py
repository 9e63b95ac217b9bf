"""AuditExperiment without a server: its diff, its pickling, and its registration in an offline plan."""

from __future__ import annotations

import json

import pytest

from ailab.errors import BadInputError
from ailab.plan.runner import run_program
from ailab.services.mlflow import AuditExperiment, AuditExperimentProvider

ADMIN_PASSWORD = "lab-mlflow-admin-password-42"
INPUTS = {
    "tracking_url": "http://mlflow:5000",
    "admin_username": "admin",
    "admin_password": ADMIN_PASSWORD,
    "audit_id": "a1",
    "experiment_name": "audit/a1",
    "members": ["alice", "bob"],
    "tags": {"ailab.eu/audit-id": "a1"},
    "experiment_id": None,
    "generated_passwords": None,
}
OUTPUTS = {**INPUTS, "experiment_id": "7", "generated_passwords": {"alice": "pw"}}


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"tracking_url": "https://mlflow.lab.example"}, []),
        ({"audit_id": "b2", "experiment_name": "audit/b2"}, ["audit_id", "experiment_name"]),
        ({"members": ["alice"]}, []),
        ({"members": ["alice", "bob", "carol"]}, []),
        ({"tags": {"ailab.eu/audit-id": "a1", "purpose": "x"}}, []),
        ({"admin_password": "rotated"}, []),
        ({"admin_username": "root"}, []),
    ],
)
def test_diff(change, replaces) -> None:
    diff = AuditExperimentProvider().diff("7", OUTPUTS, {**INPUTS, **change})
    assert diff.changes is True
    assert diff.replaces == replaces
    assert diff.delete_before_replace is True


def test_outputs_of_the_last_run_are_no_change() -> None:
    assert AuditExperimentProvider().diff("7", OUTPUTS, INPUTS).changes is False


def test_check_names_missing_inputs() -> None:
    failures = AuditExperimentProvider().check({}, {**INPUTS, "admin_password": "", "tracking_url": None}).failures
    assert sorted(f.property for f in failures) == ["admin_password", "tracking_url"]
    assert AuditExperimentProvider().check({}, INPUTS).failures == []


def _plan(**overrides):
    arguments = {
        "tracking_url": "http://mlflow:5000",
        "admin_username": "admin",
        "admin_password": ADMIN_PASSWORD,
        "audit_id": "a1",
        "members": ["bob", "alice", "bob"],
        "tags": {"purpose": "chatbot audit"},
    }

    def program() -> None:
        AuditExperiment("experiment", **(arguments | overrides))

    return run_program(program, project="ailab-sandboxes", stack="a1", kind="sandbox")


def test_registered_in_an_offline_plan() -> None:
    plan = _plan()
    [resource] = [r for r in plan.resources if r.name == "experiment"]
    assert resource.type == "pulumi-python:dynamic/ailab:AuditExperiment"
    assert resource.inputs["experiment_name"] == "audit/a1"
    assert resource.inputs["members"] == ["alice", "bob"], "sorted and unique: reordering a team is no change"
    assert resource.inputs["tags"] == {"purpose": "chatbot audit", "ailab.eu/audit-id": "a1"}
    assert ADMIN_PASSWORD not in json.dumps(plan.to_json())


def test_members_must_be_user_names() -> None:
    with pytest.raises(BadInputError, match="must be non-empty user names"):
        _plan(members=["alice", ""])
