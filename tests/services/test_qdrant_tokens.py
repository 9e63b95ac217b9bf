"""Collection-scoped Qdrant JWTs: the claims Qdrant's JWT RBAC reads, their expiry and their signature."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from ailab.errors import BadInputError
from ailab.services.qdrant import collection_token, verify_collection_token

API_KEY = "lab-qdrant-api-key-0123456789abcdef"
EXPIRES = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=72)


def _segments(token: str) -> list[dict]:
    header, payload, _ = token.split(".")
    return [json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in (header, payload)]


def test_claims_are_exp_and_one_collection() -> None:
    header, claims = _segments(collection_token(API_KEY, "audit_a1", EXPIRES))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims == {"exp": int(EXPIRES.timestamp()), "access": [{"collection": "audit_a1", "access": "rw"}]}


def test_verified_claims() -> None:
    claims = verify_collection_token(API_KEY, collection_token(API_KEY, "audit_a1", EXPIRES, access="r"))
    assert claims.expires_at == EXPIRES
    assert claims.access == {"audit_a1": "r"}


def test_a_token_for_one_collection_does_not_list_another() -> None:
    claims = verify_collection_token(API_KEY, collection_token(API_KEY, "audit_a1", EXPIRES))
    assert "audit_b2" not in claims.access
    assert list(claims.access) == ["audit_a1"]


def test_another_key_fails_verification() -> None:
    token = collection_token(API_KEY, "audit_a1", EXPIRES)
    with pytest.raises(BadInputError, match="not valid for this API key: Signature verification failed"):
        verify_collection_token("another-lab-api-key-0123456789abcdef", token)


def test_a_tampered_token_fails_verification() -> None:
    header, _, signature = collection_token(API_KEY, "audit_a1", EXPIRES).split(".")
    widened = {"exp": int(EXPIRES.timestamp()), "access": [{"collection": "audit_b2", "access": "rw"}]}
    forged_payload = base64.urlsafe_b64encode(json.dumps(widened).encode()).rstrip(b"=").decode()
    with pytest.raises(BadInputError, match="Signature verification failed"):
        verify_collection_token(API_KEY, f"{header}.{forged_payload}.{signature}")


def test_an_expired_token_fails_verification() -> None:
    claims = {"exp": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()), "access": [{"collection": "c", "access": "r"}]}
    with pytest.raises(BadInputError, match="Signature has expired"):
        verify_collection_token(API_KEY, jwt.encode(claims, API_KEY, algorithm="HS256"))


def test_a_token_without_expiry_fails_verification() -> None:
    token = jwt.encode({"access": [{"collection": "c", "access": "r"}]}, API_KEY, algorithm="HS256")
    with pytest.raises(BadInputError, match='"exp"'):
        verify_collection_token(API_KEY, token)


def test_an_unsigned_token_fails_verification() -> None:
    _, payload, _ = collection_token(API_KEY, "audit_a1", EXPIRES).split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    with pytest.raises(BadInputError):
        verify_collection_token(API_KEY, f"{none_header}.{payload}.")


@pytest.mark.parametrize(
    ("api_key", "collection", "expires_at", "access", "message"),
    [
        ("", "c", EXPIRES, "rw", "API key is empty"),
        (API_KEY, "", EXPIRES, "rw", "needs a collection"),
        (API_KEY, "c", EXPIRES, "m", "access 'm' is not one of r, rw"),
        (API_KEY, "c", EXPIRES.replace(tzinfo=None), "rw", "has no time zone"),
        (API_KEY, "c", datetime.now(UTC) - timedelta(seconds=1), "rw", "is in the past"),
    ],
)
def test_refused_requests(api_key, collection, expires_at, access, message) -> None:
    with pytest.raises(BadInputError, match=message):
        collection_token(api_key, collection, expires_at, access)
