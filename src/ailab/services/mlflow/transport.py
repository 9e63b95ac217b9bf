"""HTTP to an MLflow server as its admin: retries, JSON, and the one mapping from failures to errors.

Only connection failures are retried (the request never reached the server, so even a POST is
safe to repeat); an answer, whatever its status, is final. MLflow answers errors as
``{"error_code": ..., "message": ...}`` JSON, or as plain text from the basic-auth layer (401, 403).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Collection, Mapping
from typing import Any

import httpx

from ailab.errors import AilabError, OperationFailedError
from ailab.services.errors import credentials_rejected, not_a_url, not_permitted, redact, unreachable

SERVICE = "MLflow"

TESTED_SERVER = "3.17"
"""The MLflow server release line this client is tested against (the ``mlflow`` locked in uv.lock)."""

JsonObject = dict[str, Any]


class MlflowTransport:
    """Authenticated requests to one MLflow server; owns an ``httpx.Client`` (close it, or use ``with``)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise not_a_url(SERVICE, base_url)
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self._retries = retries
        self._backoff = backoff
        # None: httpx's default verification (certifi); callers reaching the lab pass its verifying context.
        verify: ssl.SSLContext | bool = True if tls is None else tls
        self._client = httpx.Client(base_url=self.base_url, auth=(username, password), timeout=timeout, verify=verify)

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: JsonObject | None = None,
        tolerate: Collection[str] = (),
    ) -> JsonObject | None:
        """Send one request and return its JSON body (``{}`` when empty).

        Returns None instead of raising when MLflow answers with an ``error_code`` in ``tolerate``
        (e.g. ``RESOURCE_ALREADY_EXISTS`` for an idempotent create).
        """
        response = self._send(method, path, params, json)
        if response.is_success:
            return response.json() if response.content.strip() else {}
        error_code, message = _error_of(response)
        if error_code in tolerate:
            return None
        raise self._failure(response, error_code, message, _secrets_in(json) | {self._password})

    def _send(self, method: str, path: str, params: Mapping[str, str] | None, json: JsonObject | None) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return self._client.request(method, path, params=params, json=json)
            except httpx.UnsupportedProtocol as error:
                raise not_a_url(SERVICE, self.base_url) from error
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                attempt += 1
                if attempt > self._retries:
                    raise unreachable(SERVICE, self.base_url, error, attempts=attempt) from error
                time.sleep(self._backoff * 2 ** (attempt - 1))
            except httpx.TransportError as error:
                # The request may have reached the server: repeating it could apply it twice.
                raise OperationFailedError(
                    f"{SERVICE} at {self.base_url}: {method} {path} failed mid-way ({type(error).__name__}: {error}); "
                    "check the server's health and run the command again"
                ) from error

    def _failure(self, response: httpx.Response, error_code: str, message: str, secrets: set[str]) -> AilabError:
        what = f"{response.request.method} {response.request.url.path}"
        who = f"user '{self.username}'"
        if response.status_code == httpx.codes.UNAUTHORIZED:
            return credentials_rejected(SERVICE, self.base_url, who, response.status_code)
        if response.status_code == httpx.codes.FORBIDDEN:
            return not_permitted(SERVICE, self.base_url, who, what)
        if response.status_code == httpx.codes.NOT_FOUND and not error_code:
            # MLflow answers a missing resource with an error code; a bare 404 is a route this
            # server does not have (before 3.x's unified permission API, grants used other routes).
            return OperationFailedError(
                f"{SERVICE} at {self.base_url} has no route {what} (HTTP 404): its release does not match the MLflow API "
                f"ailab uses ({TESTED_SERVER}.x); deploy that MLflow release (the lab spec's mlflow.image)"
            )
        detail = redact(message, secrets)
        code = f" {error_code}" if error_code else ""
        return OperationFailedError(f"{SERVICE} at {self.base_url}: {what} failed (HTTP {response.status_code}{code}): {detail}")


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """MLflow's ``error_code`` and ``message``; plain-text bodies give an empty code."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text
    if not isinstance(body, dict):
        return "", response.text
    return str(body.get("error_code", "")), str(body.get("message", response.text))


def _secrets_in(json: JsonObject | None) -> set[str]:
    """Password values a request carries, so an error message can never echo them."""
    return {value for key, value in (json or {}).items() if "password" in key and isinstance(value, str)}
