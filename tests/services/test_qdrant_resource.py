"""AuditCollection's provider against qdrant-client's local mode, its diff, and its registration in an offline plan."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ailab.errors import BadInputError
from ailab.plan.runner import run_program
from ailab.services.qdrant import AuditCollection, AuditCollectionProvider, verify_collection_token
from ailab.services.qdrant.collections import session

API_KEY = "lab-qdrant-api-key-0123456789abcdef"
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=72)


@pytest.fixture
def props(tmp_path) -> dict:
    return {
        "url": f"file://{tmp_path / 'qdrant'}",
        "api_key": API_KEY,
        "audit_id": "a1",
        "collection": "audit_a1",
        "vector_size": 384,
        "distance": "Cosine",
        "expires_at": EXPIRES.isoformat(),
        "access": "rw",
        "token": None,
    }


def _exists(url: str, name: str) -> bool:
    with session(url) as client:
        return client.collection_exists(name)


def test_create_update_delete(props) -> None:
    provider = AuditCollectionProvider()
    created = provider.create(props)
    assert created.id == "audit_a1"
    assert _exists(props["url"], "audit_a1")
    claims = verify_collection_token(API_KEY, created.outs["token"])
    assert claims.access == {"audit_a1": "rw"} and claims.expires_at == EXPIRES

    extended = {**props, "expires_at": (EXPIRES + timedelta(days=1)).isoformat()}
    diff = provider.diff(created.id, created.outs, extended)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(created.id, created.outs, extended)
    assert updated.outs["token"] != created.outs["token"]
    assert verify_collection_token(API_KEY, updated.outs["token"]).expires_at == EXPIRES + timedelta(days=1)

    provider.delete(created.id, updated.outs)
    assert not _exists(props["url"], "audit_a1")
    provider.delete(created.id, updated.outs)  # already gone: fine


def test_create_adopts_a_collection_left_by_an_interrupted_run(props) -> None:
    provider = AuditCollectionProvider()
    provider.create(props)
    assert provider.create(props).id == "audit_a1"


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"url": "https://qdrant.lab.example"}, []),
        ({"collection": "audit_b2"}, ["collection"]),
        ({"vector_size": 768}, ["vector_size"]),
        ({"distance": "Dot"}, ["distance"]),
        ({"api_key": "rotated-key-0123456789abcdef0123"}, []),
        ({"access": "r"}, []),
    ],
)
def test_diff(props, change, replaces) -> None:
    diff = AuditCollectionProvider().diff("audit_a1", {**props, "token": "t"}, {**props, **change})
    assert diff.changes is True
    assert diff.replaces == replaces
    assert diff.delete_before_replace is True


def test_no_change_is_no_diff(props) -> None:
    assert AuditCollectionProvider().diff("audit_a1", {**props, "token": "t"}, props).changes is False


def test_check(props) -> None:
    provider = AuditCollectionProvider()
    assert provider.check({}, props).failures == []
    failures = provider.check({}, {**props, "expires_at": "2030-01-01T00:00:00", "api_key": ""}).failures
    assert {(f.property, f.reason.split(":")[0]) for f in failures} == {
        ("api_key", "api_key must be a non-empty string"),
        ("expires_at", "expires_at '2030-01-01T00"),
    }


def test_registered_in_an_offline_plan_with_secrets_hidden() -> None:
    def program() -> None:
        AuditCollection("vectors", url="http://qdrant:6333", api_key=API_KEY, audit_id="a-1", vector_size=384, expires_at=EXPIRES)

    plan = run_program(program, project="ailab-sandboxes", stack="a-1", kind="sandbox")
    [resource] = [r for r in plan.resources if r.name == "vectors"]
    assert resource.type == "pulumi-python:dynamic/ailab:AuditCollection"
    assert resource.inputs["collection"] == "audit_a_1"
    assert resource.inputs["expires_at"] == EXPIRES.isoformat()
    assert API_KEY not in json.dumps(plan.to_json())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expires_at": EXPIRES.replace(tzinfo=None)}, "has no time zone"),
        ({"vector_size": 0}, "positive integer"),
        ({"distance": "L2"}, "'L2' is not one of"),
    ],
)
def test_bad_arguments_stop_the_plan(kwargs, message) -> None:
    arguments = {"url": "http://qdrant:6333", "api_key": API_KEY, "audit_id": "a1", "vector_size": 8, "expires_at": EXPIRES}

    def program() -> None:
        AuditCollection("vectors", **(arguments | kwargs))

    with pytest.raises(BadInputError, match=message):
        run_program(program, project="ailab-sandboxes", stack="a1", kind="sandbox")
