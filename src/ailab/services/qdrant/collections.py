"""Qdrant collections: an idempotent create and delete, and the connection that maps failures to ailab errors.

``session(url, api_key)`` takes the lab's Qdrant (``http(s)://``) or qdrant-client's local mode
(``file:///some/dir`` on disk, ``:memory:`` in the process), which is how ailab runs locally and in
tests. Local mode keeps no API key and checks no token: it is for one user on one machine.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from ailab.errors import AilabError, BadInputError, OperationFailedError
from ailab.services.errors import credentials_rejected, not_a_url, not_permitted, redact, unreachable
from ailab.services.qdrant.vectors import check_vectors

SERVICE = "Qdrant"
LOCAL_PREFIX = "file://"
MEMORY = ":memory:"


@contextmanager
def session(
    url: str, api_key: str | None = None, *, timeout: int = 10, tls: ssl.SSLContext | None = None
) -> Iterator[QdrantClient]:
    """A client for ``url``, closed on exit; Qdrant failures inside the block become ailab errors naming ``url``.

    ``tls`` checks an https server's certificate (qdrant-client hands it to httpx as ``verify``);
    None keeps qdrant-client's default.
    """
    client = _client(url, api_key, timeout, tls)
    try:
        yield client
    except ResponseHandlingException as error:
        raise unreachable(SERVICE, url, error) from error
    except UnexpectedResponse as error:
        raise _failure(url, error, api_key) from error
    finally:
        client.close()


def create_collection(client: QdrantClient, name: str, vector_size: int, distance: str) -> bool:
    """Create ``name`` for vectors of ``vector_size`` compared by ``distance``; True if created, False if it existed.

    An existing collection with other vector settings is an error, never silently kept or replaced.
    """
    wanted = vector_params(vector_size, distance)
    if client.collection_exists(name):
        existing = client.get_collection(name).config.params.vectors
        if not isinstance(existing, models.VectorParams) or (existing.size, existing.distance) != (wanted.size, wanted.distance):
            raise BadInputError(
                f"Qdrant collection {name!r} exists with vectors {existing}, not size={wanted.size} distance={wanted.distance.value}: "
                "delete it first or ask for its settings"
            )
        return False
    client.create_collection(name, vectors_config=wanted)
    return True


def delete_collection(client: QdrantClient, name: str) -> bool:
    """Delete ``name`` and its points; True if it existed, False if it was already gone."""
    try:
        return bool(client.delete_collection(name))
    except UnexpectedResponse as error:
        if error.status_code == HTTPStatus.NOT_FOUND:
            return False
        raise


def vector_params(vector_size: int, distance: str) -> models.VectorParams:
    """Checked vector settings (see :func:`ailab.services.qdrant.vectors.check_vectors`)."""
    check_vectors(vector_size, distance)
    return models.VectorParams(size=vector_size, distance=models.Distance(distance))


def _client(url: str, api_key: str | None, timeout: int, tls: ssl.SSLContext | None) -> QdrantClient:
    if url == MEMORY:
        return QdrantClient(location=MEMORY)
    if url.startswith(LOCAL_PREFIX):
        return QdrantClient(path=url.removeprefix(LOCAL_PREFIX))
    if not url.startswith(("http://", "https://")):
        raise not_a_url(SERVICE, url)
    # No version probe at connect time: it costs a round trip and only warns.
    # qdrant-client hands extra keyword arguments to its httpx client.
    verify: dict[str, Any] = {} if tls is None else {"verify": tls}
    return QdrantClient(url=url, api_key=api_key, timeout=timeout, check_compatibility=False, **verify)


def _failure(url: str, error: UnexpectedResponse, api_key: str | None) -> AilabError:
    if error.status_code == HTTPStatus.UNAUTHORIZED:
        return credentials_rejected(SERVICE, url, "the API key", error.status_code)
    if error.status_code == HTTPStatus.FORBIDDEN:
        return not_permitted(SERVICE, url, "the API key", "the operation")
    try:
        detail = str(error.structured()["status"]["error"])
    except (ValueError, KeyError, TypeError):
        detail = error.content.decode("utf-8", errors="replace")
    return OperationFailedError(f"{SERVICE} at {url} failed (HTTP {error.status_code}): {redact(detail, [api_key or ''])}")
