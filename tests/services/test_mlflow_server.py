"""Against a real ``mlflow server --app-name basic-auth``: members work in their audit's experiment, everyone else gets 403.

Every access check goes over real HTTP with the user's own credentials, as an auditor's
notebook would.
"""

from __future__ import annotations

import time

import httpx
import pytest

from ailab.errors import BadInputError
from ailab.services.mlflow import AuditExperimentProvider, MlflowAdmin, Permission

pytestmark = pytest.mark.integration

ADMIN = "admin"


class Member:
    """An MLflow user talking to the tracking API with their own password."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=f"{url}/api/2.0/mlflow", auth=(username, password), timeout=10)

    def read_experiment(self, experiment_id: str) -> httpx.Response:
        return self.http.get("/experiments/get", params={"experiment_id": experiment_id})

    def log_metric(self, experiment_id: str, key: str, value: float) -> httpx.Response:
        """Start a run in the experiment and log one metric; the first refused step's response, else the last."""
        created = self.http.post("/runs/create", json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})
        if created.status_code != 200:
            return created
        run_id = created.json()["run"]["info"]["run_id"]
        logged = self.http.post(
            "/runs/log-metric",
            json={"run_id": run_id, "key": key, "value": value, "timestamp": int(time.time() * 1000), "step": 0},
        )
        if logged.status_code != 200:
            return logged
        return self.http.get("/runs/get", params={"run_id": run_id})


@pytest.fixture
def admin(mlflow_server):
    with MlflowAdmin(mlflow_server.url, ADMIN, mlflow_server.admin_password) as client:
        yield client


def _props(mlflow_server, audit_id: str, members: list[str]) -> dict:
    return {
        "tracking_url": mlflow_server.url,
        "admin_username": ADMIN,
        "admin_password": mlflow_server.admin_password,
        "audit_id": audit_id,
        "experiment_name": f"audit/{audit_id}",
        "members": members,
        "tags": {"ailab.eu/audit-id": audit_id},
        "experiment_id": None,
        "generated_passwords": None,
    }


def test_server_started(mlflow_server) -> None:
    assert mlflow_server.startup_s < 240
    assert httpx.get(f"{mlflow_server.url}/api/2.0/mlflow/experiments/search", timeout=10).status_code == 401


def test_member_reads_and_writes_the_audit_experiment(mlflow_server, admin) -> None:
    created = AuditExperimentProvider().create(_props(mlflow_server, "read-write", ["alice-rw"]))
    assert created.outs["artifact_location"] == f"mlflow-artifacts:/{created.id}", "the lab's proxied store, own folder"
    password = created.outs["generated_passwords"]["alice-rw"]
    alice = Member(mlflow_server.url, "alice-rw", password)

    experiment = alice.read_experiment(created.id)
    assert experiment.status_code == 200
    assert experiment.json()["experiment"]["name"] == "audit/read-write"
    assert {"key": "ailab.eu/audit-id", "value": "read-write"} in experiment.json()["experiment"]["tags"]

    run = alice.log_metric(created.id, "accuracy", 0.93)
    assert run.status_code == 200, run.text
    assert run.json()["run"]["data"]["metrics"][0]["value"] == 0.93
    assert admin.permissions(created.id) == {"alice-rw": Permission.EDIT}


def test_a_user_of_another_audit_gets_403(mlflow_server) -> None:
    provider = AuditExperimentProvider()
    ours = provider.create(_props(mlflow_server, "ours", ["alice-ours"]))
    theirs = provider.create(_props(mlflow_server, "theirs", ["bob-theirs"]))
    bob = Member(mlflow_server.url, "bob-theirs", theirs.outs["generated_passwords"]["bob-theirs"])

    assert bob.read_experiment(ours.id).status_code == 403
    assert bob.log_metric(ours.id, "accuracy", 0.1).status_code == 403
    assert bob.read_experiment(theirs.id).status_code == 200
    search = bob.http.post("/experiments/search", json={"max_results": 100})
    assert [e["name"] for e in search.json().get("experiments", [])] == ["audit/theirs"]


def test_artifacts_go_to_the_experiments_own_folder_of_the_proxied_store(mlflow_server) -> None:
    provider = AuditExperimentProvider()
    ours = provider.create(_props(mlflow_server, "art-ours", ["alice-art"]))
    theirs = provider.create(_props(mlflow_server, "art-theirs", ["bob-art"]))
    alice = ("alice-art", ours.outs["generated_passwords"]["alice-art"])
    bob = ("bob-art", theirs.outs["generated_passwords"]["bob-art"])
    run = Member(mlflow_server.url, *alice).http.post("/runs/create", json={"experiment_id": ours.id, "start_time": 0})
    info = run.json()["run"]["info"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/{ours.id}/{info['run_id']}/artifacts"

    artifact = f"{mlflow_server.url}/api/2.0/mlflow-artifacts/artifacts/{ours.id}/{info['run_id']}/artifacts/report.txt"
    assert httpx.put(artifact, content=b"findings", auth=alice, timeout=10).status_code == 200
    assert httpx.get(artifact, auth=alice, timeout=10).content == b"findings"
    assert httpx.get(artifact, auth=bob, timeout=10).status_code == 403, "the proxy reads the experiment from the path"


def test_update_admits_new_members_and_revokes_removed_ones(mlflow_server, admin) -> None:
    provider = AuditExperimentProvider()
    before = _props(mlflow_server, "changing", ["alice-ch", "bob-ch"])
    created = provider.create(before)
    bob = Member(mlflow_server.url, "bob-ch", created.outs["generated_passwords"]["bob-ch"])
    assert bob.read_experiment(created.id).status_code == 200

    after = {**before, "members": ["alice-ch", "carol-ch"], "tags": {"ailab.eu/audit-id": "changing", "purpose": "more"}}
    assert provider.diff(created.id, created.outs, after).replaces == []
    updated = provider.update(created.id, created.outs, after)

    assert set(updated.outs["generated_passwords"]) == {"carol-ch"}, "only the user this update created"
    carol = Member(mlflow_server.url, "carol-ch", updated.outs["generated_passwords"]["carol-ch"])
    assert carol.log_metric(created.id, "loss", 0.5).status_code == 200
    assert bob.read_experiment(created.id).status_code == 403
    assert admin.permissions(created.id) == {"alice-ch": Permission.EDIT, "carol-ch": Permission.EDIT}
    assert admin.get_experiment_by_name("audit/changing").tags["purpose"] == "more"


def test_delete_revokes_every_grant_and_deletes_the_experiment(mlflow_server, admin) -> None:
    provider = AuditExperimentProvider()
    created = provider.create(_props(mlflow_server, "gone", ["alice-gone"]))
    alice = Member(mlflow_server.url, "alice-gone", created.outs["generated_passwords"]["alice-gone"])
    assert alice.read_experiment(created.id).status_code == 200

    provider.delete(created.id, created.outs)

    assert alice.read_experiment(created.id).status_code == 403
    assert admin.permissions(created.id) == {}
    retired = admin.get_experiment(created.id)
    assert retired is not None and retired.lifecycle_stage == "deleted", "deleted softly: the runs stay until mlflow gc"
    assert retired.name.startswith(f"audit/gone/retired-{created.id}-"), "renamed out of the audit's name"
    assert admin.get_experiment_by_name("audit/gone") is None
    assert admin.ensure_user("alice-gone") is None, "users are kept: they may work on other audits"
    provider.delete(created.id, created.outs)  # a destroy run again finishes quietly


def test_recreating_an_audit_gives_it_a_new_experiment_for_the_new_team_only(mlflow_server, admin) -> None:
    provider = AuditExperimentProvider()
    first = provider.create(_props(mlflow_server, "again", ["alice-again"]))
    Member(mlflow_server.url, "alice-again", first.outs["generated_passwords"]["alice-again"]).log_metric(first.id, "m", 1.0)
    provider.delete(first.id, first.outs)

    second = provider.create(_props(mlflow_server, "again", ["dave-again"]))

    assert second.id != first.id, "the retired experiment is not adopted by name"
    assert admin.get_experiment_by_name("audit/again").experiment_id == second.id
    assert admin.get_experiment(first.id).lifecycle_stage == "deleted"
    assert admin.permissions(second.id) == {"dave-again": Permission.EDIT}
    alice = Member(mlflow_server.url, "alice-again", first.outs["generated_passwords"]["alice-again"])
    assert alice.read_experiment(second.id).status_code == 403
    assert alice.read_experiment(first.id).status_code == 403


def test_admin_operations_are_idempotent(admin) -> None:
    experiment_id = admin.create_experiment("audit/idem", {"k": "v"})
    assert experiment_id is not None
    assert admin.create_experiment("audit/idem", {"k": "v"}) is None, "a taken name is reported, never adopted"
    password = admin.ensure_user("erin-idem")
    assert password is not None and len(password) >= 32
    assert admin.ensure_user("erin-idem") is None

    admin.grant(experiment_id, "erin-idem", Permission.EDIT)
    admin.grant(experiment_id, "erin-idem", Permission.EDIT)
    assert admin.permissions(experiment_id)["erin-idem"] == Permission.EDIT
    admin.grant(experiment_id, "erin-idem", Permission.READ)
    assert admin.permissions(experiment_id)["erin-idem"] == Permission.READ
    erin = Member(admin.base_url, "erin-idem", password)
    assert erin.read_experiment(experiment_id).status_code == 200
    assert erin.log_metric(experiment_id, "m", 1.0).status_code == 403, "READ cannot write"

    admin.revoke(experiment_id, "erin-idem")
    admin.revoke(experiment_id, "erin-idem")
    assert "erin-idem" not in admin.permissions(experiment_id)
    admin.delete_user("erin-idem")
    admin.delete_user("erin-idem")
    admin.delete_experiment(experiment_id)
    admin.delete_experiment(experiment_id)
    assert admin.get_experiment_by_name("audit/idem").lifecycle_stage == "deleted"
    assert admin.get_experiment_by_name("audit/never-created") is None


def test_wrong_admin_password_is_named(mlflow_server) -> None:
    with MlflowAdmin(mlflow_server.url, ADMIN, "not-the-password") as wrong, pytest.raises(BadInputError) as failure:
        wrong.create_experiment("audit/nope")
    assert str(failure.value).startswith(f"MLflow at {mlflow_server.url} rejected the credentials of user 'admin' (HTTP 401)")
    assert "not-the-password" not in str(failure.value)


def test_a_non_admin_account_is_refused(mlflow_server, admin) -> None:
    password = admin.ensure_user("frank-notadmin")
    with MlflowAdmin(mlflow_server.url, "frank-notadmin", password) as frank, pytest.raises(BadInputError) as failure:
        frank.ensure_user("someone-else")
    assert "refused POST /api/2.0/mlflow/users/create to user 'frank-notadmin' (HTTP 403)" in str(failure.value)
