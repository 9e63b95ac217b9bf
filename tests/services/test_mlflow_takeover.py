"""Taking over another audit's experiment, tried for real: rename squatting and pre-creation.

Against MLflow's stock basic-auth (``stock_mlflow_server``) both attacks get through MLflow, so
what is tested is that ailab never follows them: it identifies an audit's experiment by the id
it recorded, never adopts one it did not create, and reverts a member's rename. Against the
server as ailab deploys it (``mlflow_server``), the lab's authorization function refuses both
attacks with 403 before they happen.
"""

from __future__ import annotations

import json

import httpx
import pytest

from ailab.errors import BadInputError, OperationFailedError
from ailab.services.mlflow import AuditExperimentProvider, MlflowAdmin, Permission

pytestmark = pytest.mark.integration

ADMIN = "admin"
PASSWORD = "a-long-password-for-the-attacker-0123"


def _props(server, audit_id: str, members: list[str], **changes) -> dict:
    return {
        "tracking_url": server.url,
        "admin_username": ADMIN,
        "admin_password": server.admin_password,
        "audit_id": audit_id,
        "experiment_name": f"audit/{audit_id}",
        "members": members,
        "tags": {"ailab.eu/audit-id": audit_id},
        "experiment_id": None,
        "generated_passwords": None,
    } | changes


def _api(server, username: str, password: str, prefix: str = "/api/2.0/mlflow") -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}{prefix}", auth=(username, password), timeout=10)


def _rename(client: httpx.Client, experiment_id: str, new_name: str) -> httpx.Response:
    return client.post("/experiments/update", json={"experiment_id": experiment_id, "new_name": new_name})


@pytest.fixture
def stock_admin(stock_mlflow_server):
    with MlflowAdmin(stock_mlflow_server.url, ADMIN, stock_mlflow_server.admin_password) as client:
        yield client


@pytest.fixture
def admin(mlflow_server):
    with MlflowAdmin(mlflow_server.url, ADMIN, mlflow_server.admin_password) as client:
        yield client


# Rename squatting


def test_a_squatted_name_is_refused_and_the_update_reverts_the_rename(stock_mlflow_server, stock_admin) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    b = provider.create(_props(server, "b-sq", ["bob-sq"]))
    bob = _api(server, "bob-sq", b.outs["generated_passwords"]["bob-sq"])
    assert _rename(bob, b.id, "audit/future-sq").status_code == 200, "stock MLflow lets an EDIT holder rename"

    with pytest.raises(BadInputError) as refused:
        provider.create(_props(server, "future-sq", ["carol-sq"]))
    message = str(refused.value)
    assert "\n" not in message
    assert f"'audit/future-sq' already exists (id {b.id}, active" in message
    assert "will not adopt it" in message and "an MLflow admin" in message
    assert stock_admin.permissions(b.id) == {"bob-sq": Permission.EDIT}, "nobody was granted the squatted experiment"
    assert stock_admin.ensure_user("carol-sq") is not None, "the refused create made no user"

    extended = _props(server, "b-sq", ["bob-sq"], tags={"ailab.eu/audit-id": "b-sq", "ailab.eu/expires-at": "later"})
    updated = provider.update(b.id, b.outs, extended)

    assert updated.outs["reverted_renames"] == [
        {"experiment_id": b.id, "renamed_to": "audit/future-sq", "restored_name": "audit/b-sq"}
    ]
    assert stock_admin.get_experiment(b.id).name == "audit/b-sq"
    assert stock_admin.get_experiment_by_name("audit/future-sq") is None, "the squatted name is free again"
    assert stock_admin.permissions(b.id) == {"bob-sq": Permission.EDIT}
    future = provider.create(_props(server, "future-sq", ["carol-sq"]))
    assert future.id != b.id
    assert bob.get("/experiments/get", params={"experiment_id": future.id}).status_code == 403
    assert provider.update(b.id, updated.outs, extended).outs["reverted_renames"] == [], "reported once"


def test_destroy_retires_only_the_recorded_experiment_whatever_it_is_called(stock_mlflow_server, stock_admin) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    b = provider.create(_props(server, "b-ds", ["bob-ds"]))
    other = provider.create(_props(server, "other-ds", ["carol-ds"]))
    bob = _api(server, "bob-ds", b.outs["generated_passwords"]["bob-ds"])
    assert _rename(bob, b.id, "audit/elsewhere-ds").status_code == 200

    provider.delete(b.id, b.outs)

    retired = stock_admin.get_experiment(b.id)
    assert retired.lifecycle_stage == "deleted"
    assert retired.name.startswith(f"audit/b-ds/retired-{b.id}-")
    assert retired.tags["ailab.eu/renamed-to"] == "audit/elsewhere-ds", "the evidence stays on the experiment"
    assert stock_admin.get_experiment_by_name("audit/elsewhere-ds") is None
    assert stock_admin.permissions(b.id) == {}
    assert stock_admin.get_experiment(other.id).active, "another audit's experiment is untouched"
    assert stock_admin.permissions(other.id) == {"carol-ds": Permission.EDIT}


def test_an_update_refuses_when_the_recorded_name_was_taken_meanwhile(stock_mlflow_server, stock_admin) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    b = provider.create(_props(server, "b-tk", ["bob-tk"]))
    bob = _api(server, "bob-tk", b.outs["generated_passwords"]["bob-tk"])
    assert _rename(bob, b.id, "scratch-tk").status_code == 200
    taker = bob.post("/experiments/create", json={"name": "audit/b-tk"})
    assert taker.status_code == 200

    with pytest.raises(OperationFailedError) as refused:
        provider.update(b.id, b.outs, _props(server, "b-tk", ["bob-tk", "dave-tk"]))

    message = str(refused.value)
    assert f"experiment {b.id}, created by ailab as 'audit/b-tk'" in message
    assert f"renamed to 'scratch-tk' and 'audit/b-tk' is now held by experiment {taker.json()['experiment_id']}" in message
    assert "ailab acts on neither" in message
    assert stock_admin.permissions(b.id) == {"bob-tk": Permission.EDIT}, "no member was admitted"
    assert "dave-tk" not in stock_admin.permissions(taker.json()["experiment_id"])


def test_an_update_refuses_a_deleted_experiment(stock_mlflow_server, stock_admin) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    b = provider.create(_props(server, "b-del", ["bob-del"]))
    stock_admin.delete_experiment(b.id)
    with pytest.raises(OperationFailedError, match=r"was deleted .* ailab acts on no other experiment"):
        provider.update(b.id, b.outs, _props(server, "b-del", ["bob-del", "eve-del"]))
    assert stock_admin.get_experiment_by_name("audit/b-del").lifecycle_stage == "deleted", "not restored"


# Pre-creation


def test_a_pre_created_experiment_is_never_adopted(stock_mlflow_server, stock_admin) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    password = stock_admin.ensure_user("mallory-pc") or pytest.fail("fresh user expected")
    mallory = _api(server, "mallory-pc", password)
    squat = mallory.post("/experiments/create", json={"name": "audit/later-pc", "artifact_location": "file:///tmp/mallory"})
    assert squat.status_code == 200, "stock MLflow lets any user pick the name and the artifact location"
    squat_id = squat.json()["experiment_id"]

    with pytest.raises(BadInputError) as refused:
        provider.create(_props(server, "later-pc", ["dave-pc"]))

    assert f"(id {squat_id}, active, artifact location 'file:///tmp/mallory')" in str(refused.value)
    assert "dave-pc" not in stock_admin.permissions(squat_id)
    assert stock_admin.get_experiment(squat_id).tags.get("ailab.eu/audit-id") is None, "nothing was written to it"


def test_a_failed_create_leaves_no_experiment_behind(stock_mlflow_server, stock_admin, monkeypatch) -> None:
    """What Pulumi never recorded must not stay under the audit's name: the next run could not tell it from a squatter's."""
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    granting = MlflowAdmin.set_permissions

    def fail_to_grant(self, experiment_id, wanted):
        if wanted:  # the grants fail (the server went away mid-way); the clean-up's revocation works
            raise OperationFailedError("MLflow at test: grant failed")
        granting(self, experiment_id, wanted)

    monkeypatch.setattr(MlflowAdmin, "set_permissions", fail_to_grant)
    with pytest.raises(OperationFailedError, match="grant failed"):
        provider.create(_props(server, "half-pc", ["erin-pc"]))
    assert stock_admin.get_experiment_by_name("audit/half-pc") is None
    monkeypatch.setattr(MlflowAdmin, "set_permissions", granting)

    created = provider.create(_props(server, "half-pc", ["erin-pc"]))
    assert stock_admin.get_experiment(created.id).name == "audit/half-pc"
    assert stock_admin.permissions(created.id) == {"erin-pc": Permission.EDIT}


# The server as ailab deploys it


def test_the_lab_server_refuses_non_admins_audit_names(mlflow_server, admin) -> None:
    password = admin.ensure_user("mallory-lab") or pytest.fail("fresh user expected")
    mallory = _api(mlflow_server, "mallory-lab", password)
    ajax = _api(mlflow_server, "mallory-lab", password, prefix="/ajax-api/2.0/mlflow")

    for attempt in (
        mallory.post("/experiments/create", json={"name": "audit/later-lab", "artifact_location": "file:///tmp/m"}),
        mallory.post("/experiments/create", json={"name": "Audit/later-lab"}),
        ajax.post("/experiments/create", json={"name": "audit/later-lab"}),
        # Double-encoded JSON, which MLflow's handler decodes twice.
        mallory.post(
            "/experiments/create",
            content=json.dumps(json.dumps({"name": "audit/later-lab"})),
            headers={"Content-Type": "application/json"},
        ),
    ):
        assert attempt.status_code == 403, attempt.text
        assert "only an MLflow admin may create or rename" in attempt.text
    assert admin.get_experiment_by_name("audit/later-lab") is None

    own = mallory.post("/experiments/create", json={"name": "scratch-lab"})
    assert own.status_code == 200, "other names stay open to every user"
    assert _rename(mallory, own.json()["experiment_id"], "scratch-lab-2").status_code == 200
    for new_name in ("audit/future-lab", " audit/future-lab"):
        assert _rename(mallory, own.json()["experiment_id"], new_name).status_code == 403
    camel = mallory.post("/experiments/update", json={"experimentId": own.json()["experiment_id"], "newName": "audit/future-lab"})
    assert camel.status_code == 403, "the proto's field aliases are read as MLflow reads them"


def test_the_documented_cost_of_a_custom_authorization_function(mlflow_server, stock_mlflow_server, admin) -> None:
    """docs/mlflow-image.md: the UI hides logout and change-password; the REST route still changes a password."""
    password = admin.ensure_user("frank-lab") or pytest.fail("fresh user expected")
    frank = _api(mlflow_server, "frank-lab", password)
    assert frank.get("/users/current").json()["is_basic_auth"] is False
    with _api(stock_mlflow_server, ADMIN, stock_mlflow_server.admin_password) as stock:
        assert stock.get("/users/current").json()["is_basic_auth"] is True
    changed = frank.patch(
        "/users/update-password", json={"username": "frank-lab", "password": PASSWORD, "current_password": password}
    )
    assert changed.status_code == 200, changed.text
    assert _api(mlflow_server, "frank-lab", PASSWORD).get("/users/current").status_code == 200


def test_a_member_cannot_rename_his_audit_experiment_on_the_lab_server(mlflow_server, admin) -> None:
    provider = AuditExperimentProvider()
    b = provider.create(_props(mlflow_server, "b-lab", ["bob-lab"]))
    bob = _api(mlflow_server, "bob-lab", b.outs["generated_passwords"]["bob-lab"])

    assert _rename(bob, b.id, "audit/future-lab").status_code == 403
    assert _rename(bob, b.id, "scratch-b-lab").status_code == 403, "nor away from its audit name"
    assert admin.get_experiment(b.id).name == "audit/b-lab"
    run = bob.post("/runs/create", json={"experiment_id": b.id, "start_time": 0})
    assert run.status_code == 200, "EDIT still lets him work"
    tag = bob.post("/experiments/set-experiment-tag", json={"experiment_id": b.id, "key": "note", "value": "x"})
    assert tag.status_code == 200


def test_a_failed_update_still_reports_the_rename_it_undid(stock_mlflow_server, stock_admin, monkeypatch) -> None:
    server, provider = stock_mlflow_server, AuditExperimentProvider()
    b = provider.create(_props(server, "b-fu", ["bob-fu"]))
    bob = _api(server, "bob-fu", b.outs["generated_passwords"]["bob-fu"])
    assert _rename(bob, b.id, "audit/future-fu").status_code == 200

    def fail_to_grant(self, experiment_id, wanted):
        raise OperationFailedError("MLflow at test: grant failed")

    monkeypatch.setattr(MlflowAdmin, "set_permissions", fail_to_grant)
    with pytest.raises(OperationFailedError) as failed:
        provider.update(b.id, b.outs, _props(server, "b-fu", ["bob-fu", "dave-fu"]))
    assert str(failed.value) == (
        f"MLflow at test: grant failed (before failing, MLflow experiment {b.id} had been renamed to "
        "'audit/future-fu'; ailab renamed it back to 'audit/b-fu')"
    )
    assert stock_admin.get_experiment(b.id).name == "audit/b-fu"
