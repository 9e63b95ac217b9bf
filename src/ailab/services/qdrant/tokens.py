"""JWTs that give access to one Qdrant collection, as Qdrant's JWT RBAC (``service.jwt_rbac: true``) reads them.

Qdrant verifies an HS256 signature made with its API key and reads two claims: ``exp`` (seconds
since the epoch) and ``access``, a list of ``{"collection": NAME, "access": "r" | "rw"}``. A token
listing collections reaches those collections and nothing else (no cluster-wide operation). Clients
send it where they would send the API key (``api-key`` header, or ``Authorization: Bearer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

from ailab.errors import BadInputError

CollectionAccess = Literal["r", "rw"]
ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token grants: each collection's access mode, until ``expires_at`` (UTC)."""

    expires_at: datetime
    access: dict[str, str]


def collection_token(api_key: str, collection: str, expires_at: datetime, access: CollectionAccess = "rw") -> str:
    """A token for ``collection`` alone with ``access`` ("r" read-only, "rw" read-write), valid until ``expires_at``.

    ``expires_at`` must be timezone-aware and in the future (a sandbox's expiry).
    """
    if not api_key:
        raise BadInputError("the Qdrant API key is empty: tokens are signed with it; set the lab's Qdrant API key")
    if not collection:
        raise BadInputError("a Qdrant token needs a collection name")
    if access not in get_args(CollectionAccess):
        raise BadInputError(f"Qdrant collection access {access!r} is not one of {', '.join(get_args(CollectionAccess))}")
    if expires_at.tzinfo is None:
        raise BadInputError(f"token expiry {expires_at.isoformat()} has no time zone: give an aware datetime (UTC)")
    if expires_at <= datetime.now(UTC):
        raise BadInputError(f"token expiry {expires_at.isoformat()} is in the past: give a future expiry")
    claims = {"exp": int(expires_at.timestamp()), "access": [{"collection": collection, "access": access}]}
    import jwt  # here, not at the top: PyJWT loads cryptography, which planning a sandbox does not need

    return jwt.encode(claims, api_key, algorithm=ALGORITHM)


def verify_collection_token(api_key: str, token: str) -> TokenClaims:
    """Check ``token``'s signature against ``api_key`` and its expiry, as Qdrant would, and return its grants.

    Raises :class:`ailab.errors.BadInputError` naming the reason for a forged, tampered, expired
    or malformed token.
    """
    import jwt

    try:
        claims = jwt.decode(token, api_key, algorithms=[ALGORITHM], options={"require": ["exp", "access"]})
    except jwt.InvalidTokenError as error:
        raise BadInputError(f"the Qdrant token is not valid for this API key: {error}") from error
    grants = claims["access"]
    if not isinstance(grants, list) or not all(
        isinstance(grant, dict) and {"collection", "access"} <= grant.keys() for grant in grants
    ):
        raise BadInputError("the Qdrant token's access claim is not a list of {collection, access} objects")
    return TokenClaims(
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        access={str(grant["collection"]): str(grant["access"]) for grant in grants},
    )
