"""How MlflowAdmin fails: one line naming the URL and the fix, never a password, retries for connection errors only."""

from __future__ import annotations

import json

import pytest

from ailab.errors import BadInputError, OperationFailedError
from ailab.services.mlflow import MlflowAdmin, Permission
from ailab.services.mlflow import transport as transport_module

PASSWORD = "Adm1n-Pa55word-zz"


def _admin(url: str, **kwargs) -> MlflowAdmin:
    return MlflowAdmin(url, "admin", PASSWORD, **kwargs)


def _one_line_without_secrets(message: str) -> None:
    assert "\n" not in message
    assert PASSWORD not in message


def test_unreachable_server_is_retried_then_named(closed_url, monkeypatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(transport_module.time, "sleep", sleeps.append)
    with _admin(closed_url, retries=3, backoff=0.5) as mlflow, pytest.raises(OperationFailedError) as failure:
        mlflow.get_experiment_by_name("audit/a1")
    message = str(failure.value)
    _one_line_without_secrets(message)
    assert message.startswith(f"MLflow at {closed_url} is unreachable after 4 attempts")
    assert "check the URL" in message
    assert sleeps == [0.5, 1.0, 2.0]


def test_wrong_admin_credentials(scripted_server) -> None:
    url, script = scripted_server
    script.status, script.body, script.content_type = 401, "You are not authenticated.", "text/plain"
    with _admin(url) as mlflow, pytest.raises(BadInputError) as failure:
        mlflow.ensure_user("alice")
    message = str(failure.value)
    _one_line_without_secrets(message)
    assert f"MLflow at {url} rejected the credentials of user 'admin' (HTTP 401)" in message
    assert "check the MLflow admin credentials" in message
    assert len(script.requests) == 1, "an answer is never retried"


def test_account_without_admin_rights(scripted_server) -> None:
    url, script = scripted_server
    script.status, script.body, script.content_type = 403, "Permission denied", "text/plain"
    with _admin(url) as mlflow, pytest.raises(BadInputError) as failure:
        mlflow.delete_user("alice")
    message = str(failure.value)
    _one_line_without_secrets(message)
    assert f"MLflow at {url} refused DELETE /api/2.0/mlflow/users/delete to user 'admin' (HTTP 403)" in message
    assert "admin rights" in message


def test_a_server_without_the_route_is_named(scripted_server) -> None:
    url, script = scripted_server
    # An MLflow release without the unified permission API: Flask's page for an unknown route.
    script.status, script.body, script.content_type = 404, "<!doctype html><title>404 Not Found</title>", "text/html"
    with _admin(url) as mlflow, pytest.raises(OperationFailedError) as failure:
        mlflow.grant("1", "alice", Permission.EDIT)
    message = str(failure.value)
    _one_line_without_secrets(message)
    assert message.startswith(f"MLflow at {url} has no route GET /api/2.0/mlflow/users/list (HTTP 404)")
    assert "deploy that MLflow release (the lab spec's mlflow.image)" in message


def test_server_error_keeps_its_first_line_and_hides_passwords(scripted_server) -> None:
    url, script = scripted_server
    # What MLflow's sqlite store answers on a constraint failure: the SQL parameters on later lines.
    script.status = 500
    script.body = json.dumps(
        {
            "error_code": "INTERNAL_ERROR",
            "message": f"boom for {PASSWORD}\n[SQL: INSERT INTO users ...]\n[parameters: ('alice', 'scrypt:32768:8:1$hash', 0)]",
        }
    )
    with _admin(url) as mlflow, pytest.raises(OperationFailedError) as failure:
        mlflow.create_experiment("audit/a1")
    message = str(failure.value)
    _one_line_without_secrets(message)
    assert message == f"MLflow at {url}: POST /api/2.0/mlflow/experiments/create failed (HTTP 500 INTERNAL_ERROR): boom for ***"
    assert len(script.requests) == 1


def test_generated_password_never_reaches_a_message(scripted_server) -> None:
    url, script = scripted_server
    script.status = 400
    script.body = json.dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": "cannot create {request}"})
    with _admin(url) as mlflow, pytest.raises(OperationFailedError) as failure:
        mlflow.ensure_user("alice")
    sent_password = json.loads(script.requests[0][2])["password"]
    assert str(failure.value).endswith('cannot create {"username":"alice","password":"***"}')
    assert sent_password not in str(failure.value)


def test_timeout_after_sending_is_not_retried(scripted_server) -> None:
    url, script = scripted_server
    script.delay_s = 1.0
    with _admin(url, timeout=0.2) as mlflow, pytest.raises(OperationFailedError) as failure:
        mlflow.create_experiment("audit/a1")
    assert "failed mid-way (ReadTimeout" in str(failure.value)
    assert len(script.requests) == 1


@pytest.mark.parametrize("url", ["mlflow.example:5000", "ftp://mlflow.example", ""])
def test_not_an_http_url(url) -> None:
    with pytest.raises(BadInputError, match="is not an http:// or https:// URL"):
        _admin(url)


def test_tolerated_answers_make_operations_idempotent(scripted_server) -> None:
    url, script = scripted_server
    script.status = 404
    script.body = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "No Experiment with id=1 exists"})
    with _admin(url) as mlflow:
        mlflow.delete_experiment("1")
        mlflow.revoke("1", "alice")
        mlflow.delete_user("alice")
        assert mlflow.get_experiment_by_name("audit/a1") is None
    script.status = 400
    script.body = json.dumps({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "User (username=alice) already exists."})
    with _admin(url) as mlflow:
        assert mlflow.ensure_user("alice") is None
