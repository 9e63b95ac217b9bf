"""Qdrant collections through qdrant-client's local mode (no server binary here), and how failures read."""

from __future__ import annotations

import pytest
from qdrant_client import models

from ailab.errors import BadInputError, OperationFailedError
from ailab.services.qdrant.collections import MEMORY, create_collection, delete_collection, session
from ailab.services.qdrant.vectors import DISTANCES

# The lab's in-cluster URL is plain http behind NetworkPolicies; qdrant-client warns about the key on it.
pytestmark = pytest.mark.filterwarnings("ignore:Api key is used with an insecure connection")


@pytest.fixture(params=["memory", "disk"])
def local_url(request, tmp_path) -> str:
    return MEMORY if request.param == "memory" else f"file://{tmp_path / 'qdrant'}"


def test_lifecycle_is_idempotent(local_url) -> None:
    with session(local_url) as client:
        assert create_collection(client, "audit_a1", 384, "Cosine") is True
        assert create_collection(client, "audit_a1", 384, "Cosine") is False
        vectors = client.get_collection("audit_a1").config.params.vectors
        assert (vectors.size, vectors.distance) == (384, models.Distance.COSINE)
        assert delete_collection(client, "audit_a1") is True
        assert delete_collection(client, "audit_a1") is False
        assert not client.collection_exists("audit_a1")


def test_collections_persist_on_disk_between_sessions(tmp_path) -> None:
    url = f"file://{tmp_path / 'qdrant'}"
    with session(url) as client:
        create_collection(client, "audit_a1", 8, "Dot")
        client.upsert("audit_a1", points=[models.PointStruct(id=1, vector=[0.1] * 8, payload={"doc": "x"})])
    with session(url) as client:
        assert client.count("audit_a1").count == 1


def test_existing_collection_with_other_vectors_is_an_error() -> None:
    with session(MEMORY) as client:
        create_collection(client, "audit_a1", 384, "Cosine")
        with pytest.raises(BadInputError, match=r"exists with vectors .* not size=768 distance=Cosine"):
            create_collection(client, "audit_a1", 768, "Cosine")
        with pytest.raises(BadInputError, match="not size=384 distance=Dot"):
            create_collection(client, "audit_a1", 384, "Dot")


@pytest.mark.parametrize(
    ("size", "distance", "message"),
    [(0, "Cosine", "positive integer"), (True, "Cosine", "positive integer"), (8, "cosine", "'cosine' is not one of")],
)
def test_bad_vector_settings(size, distance, message) -> None:
    with session(MEMORY) as client, pytest.raises(BadInputError, match=message):
        create_collection(client, "audit_a1", size, distance)


def test_distances_match_qdrant_client() -> None:
    assert tuple(distance.value for distance in models.Distance) == DISTANCES


def test_unreachable_server_is_named(closed_url) -> None:
    with pytest.raises(OperationFailedError) as failure, session(closed_url, "secret-api-key-123") as client:
        create_collection(client, "audit_a1", 8, "Cosine")
    message = str(failure.value)
    assert message.startswith(f"Qdrant at {closed_url} is unreachable (ResponseHandlingException")
    assert "secret-api-key-123" not in message and "\n" not in message


def test_rejected_api_key(scripted_server) -> None:
    url, script = scripted_server
    script.status, script.body = 401, '{"status": {"error": "Invalid API key or JWT"}}'
    with pytest.raises(BadInputError, match=r"rejected the credentials of the API key \(HTTP 401\)"), session(url, "k") as client:
        client.collection_exists("audit_a1")


def test_server_error_detail(scripted_server) -> None:
    url, script = scripted_server
    script.status, script.body = 500, '{"status": {"error": "Service internal error: disk full for key-123"}, "time": 0.1}'
    with pytest.raises(OperationFailedError) as failure, session(url, "key-123") as client:
        client.collection_exists("audit_a1")
    assert str(failure.value) == f"Qdrant at {url} failed (HTTP 500): Service internal error: disk full for ***"


def test_not_a_url() -> None:
    with pytest.raises(BadInputError, match="is not an http:// or https:// URL"), session("qdrant:6333"):
        pass
