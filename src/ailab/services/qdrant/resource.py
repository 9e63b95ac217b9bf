"""``AuditCollection``: one audit's Qdrant collection and a token scoped to it, as a Pulumi dynamic resource.

- create: the collection ``audit_<id>`` (an existing one with the same vector settings is adopted)
  and a read-write JWT for it alone, expiring with the sandbox (secret output ``token``);
- update: a new expiry, access mode or API key signs a new token (the collection is untouched);
- delete: the collection and its points.

A new collection, vector size or distance replaces the resource, old one deleted first: Qdrant
cannot change a collection's vectors in place, so the points go with it. A new ``url`` only updates
the recorded fallback: every operation calls the URL in ``AILAB_QDRANT_ADMIN_URL`` when the process
has it (the in-cluster reaper's cluster-local one, the CLI's ingress one; see
:mod:`ailab.services.endpoint`), so moving the endpoint never deletes an audit's collection.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from ailab.errors import BadInputError
from ailab.services.dynamic import diff_inputs, require_text, unknown
from ailab.services.endpoint import admin_endpoint
from ailab.services.qdrant.tokens import CollectionAccess, collection_token
from ailab.services.qdrant.vectors import check_vectors
from ailab.spec import naming
from ailab.spec.service_env import QDRANT_ADMIN_URL_ENV

REPLACE_ON = ("collection", "vector_size", "distance")
UPDATE_ON = ("url", "api_key", "expires_at", "access")
SECRET_OUTPUTS = ["api_key", "token"]


class AuditCollectionProvider(ResourceProvider):
    """The CRUD of :class:`AuditCollection`; stateless, because Pulumi pickles it into the state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = require_text(news, "url", "api_key", "collection", "expires_at")
        expires_at = news.get("expires_at")
        if isinstance(expires_at, str) and expires_at and not unknown(expires_at):
            try:
                _expiry(expires_at)
            except BadInputError as error:
                failures.append(CheckFailure("expires_at", str(error)))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        # Imported here: qdrant-client takes over a second to import, and planning a sandbox (which
        # builds this resource but never calls it) has a few seconds in all.
        from ailab.services.qdrant.collections import create_collection, session

        endpoint = admin_endpoint(QDRANT_ADMIN_URL_ENV, props["url"])
        with session(endpoint.url, props["api_key"], tls=endpoint.tls) as client:
            create_collection(client, props["collection"], int(props["vector_size"]), props["distance"])
        return CreateResult(props["collection"], _outputs(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_inputs(olds, news, replace_on=REPLACE_ON, update_on=UPDATE_ON)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_outputs(news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from ailab.services.qdrant.collections import delete_collection, session

        endpoint = admin_endpoint(QDRANT_ADMIN_URL_ENV, props["url"])
        with session(endpoint.url, props["api_key"], tls=endpoint.tls) as client:
            delete_collection(client, id_)


class AuditCollection(Resource, module="ailab", name="AuditCollection"):
    """The Qdrant collection of audit ``audit_id`` and ``token``, a JWT reaching that collection only.

    The resource id is the collection name. ``expires_at`` must be timezone-aware (the sandbox's
    expiry); ``api_key`` and ``token`` are stored as secrets.
    """

    collection: pulumi.Output[str]
    token: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        url: pulumi.Input[str],
        api_key: pulumi.Input[str],
        audit_id: str,
        vector_size: int,
        expires_at: datetime,
        distance: str = "Cosine",
        access: CollectionAccess = "rw",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        check_vectors(vector_size, distance)
        if expires_at.tzinfo is None:
            raise BadInputError(f"the expiry of audit {audit_id!r}'s Qdrant token has no time zone: give an aware datetime (UTC)")
        props: dict[str, Any] = {
            "url": url,
            "api_key": pulumi.Output.secret(api_key),
            "audit_id": audit_id,
            "collection": naming.qdrant_collection(audit_id),
            "vector_size": vector_size,
            "distance": distance,
            "expires_at": expires_at.isoformat(),
            "access": access,
            "token": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(AuditCollectionProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


def _expiry(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise BadInputError(f"expires_at {text!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        raise BadInputError(f"expires_at {text!r} has no time zone")
    return moment


def _outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs and a token signed now; signing also rejects an expiry already past."""
    token = collection_token(inputs["api_key"], inputs["collection"], _expiry(inputs["expires_at"]), inputs["access"])
    return {**inputs, "token": token}
