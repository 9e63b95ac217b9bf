"""A typed admin client over the REST API of an MLflow 3 server run with ``--app-name basic-auth``.

Routes (verified against MLflow 3.17): the tracking API under ``/api/2.0/mlflow/experiments/*``,
users under ``/api/2.0/mlflow/users/*``, and per-user grants through the unified permission API
under ``/api/3.0/mlflow/users/permissions/{grant,revoke}`` (the older
``/experiments/permissions/*`` routes are gone in 3.x). A grant lives on a hidden per-user role
named ``__user_<id>__``; :meth:`MlflowAdmin.permissions` reads those roles back from
``/api/2.0/mlflow/users/list``.

Every method but :meth:`MlflowAdmin.create_experiment` is idempotent, so an update or destroy
interrupted half-way is finished by running it again. Creating reports a taken name (None)
instead of adopting the experiment that holds it: a name proves nothing about who made it (see
:mod:`.ownership`).
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any

RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
"""MLflow error codes (``error_code``) that the idempotent operations below tolerate."""

EXPERIMENTS = "/api/2.0/mlflow/experiments"
USERS = "/api/2.0/mlflow/users"
USER_PERMISSIONS = "/api/3.0/mlflow/users/permissions"
EXPERIMENT = "experiment"
"""``resource_type`` of experiment grants in the unified permission API."""

ACTIVE = "active"

PASSWORD_BYTES = 24
"""``secrets.token_urlsafe(24)``: 32 characters, 192 bits of entropy."""


class Permission(StrEnum):
    """What a user may do on one experiment. No grant means the server's ``default_permission``
    (``NO_PERMISSIONS`` in the lab)."""

    READ = "READ"
    USE = "USE"
    EDIT = "EDIT"
    MANAGE = "MANAGE"
    DENY = "DENY"
    """An explicit refusal that beats any other grant the user has."""


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]

    @property
    def active(self) -> bool:
        return self.lifecycle_stage == ACTIVE


class MlflowAdmin:
    """Experiments, users and experiment permissions on one MLflow server, as its admin.

    ``timeout`` is per request in seconds; a connection failure is retried ``retries`` times,
    waiting ``backoff``, then twice that, and so on. ``tls`` checks an https server's certificate
    (:func:`ailab.services.endpoint.lab_tls` for the lab's). Raises :class:`ailab.errors.BadInputError`
    for a bad URL, rejected admin credentials (401) or a non-admin account (403), and
    :class:`ailab.errors.OperationFailedError` when the server is unreachable or fails.
    """

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
        # Imported here: httpx is not needed to plan a sandbox, only to talk to MLflow.
        from ailab.services.mlflow.transport import MlflowTransport

        self._http = MlflowTransport(base_url, username, password, timeout=timeout, retries=retries, backoff=backoff, tls=tls)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MlflowAdmin:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    # Experiments

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        """Experiment ``experiment_id``, active or deleted, or None if there is none."""
        body = self._http.request(
            "GET", f"{EXPERIMENTS}/get", params={"experiment_id": experiment_id}, tolerate={RESOURCE_DOES_NOT_EXIST}
        )
        return None if body is None else _experiment(body["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called ``name``, active or deleted, or None if there is none."""
        body = self._http.request(
            "GET", f"{EXPERIMENTS}/get-by-name", params={"experiment_name": name}, tolerate={RESOURCE_DOES_NOT_EXIST}
        )
        return None if body is None else _experiment(body["experiment"])

    def create_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str | None:
        """Create ``name`` with ``tags`` and return its id; None when the name is taken (by an active or deleted one).

        No artifact location is sent: the server gives the experiment its default root plus the
        new id, which is the only layout MLflow's artifact-proxy authorization can tie to the
        experiment. An existing experiment is never adopted: the caller decides what a taken name means.
        """
        body = self._http.request(
            "POST",
            f"{EXPERIMENTS}/create",
            json={"name": name, "tags": [{"key": key, "value": value} for key, value in (tags or {}).items()]},
            tolerate={RESOURCE_ALREADY_EXISTS},
        )
        return None if body is None else str(body["experiment_id"])

    def rename_experiment(self, experiment_id: str, new_name: str) -> bool:
        """Rename the (active) experiment; False when ``new_name`` is taken.

        Looked up first: MLflow 3.17 answers a taken name on rename with a database error
        (``BAD_REQUEST``), not ``RESOURCE_ALREADY_EXISTS``.
        """
        if self.get_experiment_by_name(new_name) is not None:
            return False
        body = self._http.request(
            "POST",
            f"{EXPERIMENTS}/update",
            json={"experiment_id": experiment_id, "new_name": new_name},
            tolerate={RESOURCE_ALREADY_EXISTS},
        )
        return body is not None

    def set_experiment_tags(self, experiment_id: str, tags: Mapping[str, str], remove: tuple[str, ...] = ()) -> None:
        """Set each of ``tags`` and delete the keys in ``remove`` (absent ones are fine)."""
        for key, value in tags.items():
            self._http.request(
                "POST", f"{EXPERIMENTS}/set-experiment-tag", json={"experiment_id": experiment_id, "key": key, "value": value}
            )
        for key in remove:
            self._http.request(
                "POST",
                f"{EXPERIMENTS}/delete-experiment-tag",
                json={"experiment_id": experiment_id, "key": key},
                tolerate={RESOURCE_DOES_NOT_EXIST},
            )

    def delete_experiment(self, experiment_id: str) -> None:
        """Delete (softly, as MLflow does) ``experiment_id``; an already deleted or missing one is fine.

        Runs and artifacts stay on the server until an operator runs ``mlflow gc``. MLflow does not
        drop grants with the experiment: call :meth:`set_permissions` with ``{}`` first.
        """
        self._http.request(
            "POST", f"{EXPERIMENTS}/delete", json={"experiment_id": experiment_id}, tolerate={RESOURCE_DOES_NOT_EXIST}
        )

    # Users

    def ensure_user(self, username: str) -> str | None:
        """Create ``username`` with a generated password and return it, once; None if the user exists.

        An existing user keeps their password: they may belong to other audits too.
        """
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        body = self._http.request(
            "POST", f"{USERS}/create", json={"username": username, "password": password}, tolerate={RESOURCE_ALREADY_EXISTS}
        )
        return None if body is None else password

    def delete_user(self, username: str) -> None:
        """Delete ``username`` and every grant they hold; a missing user is fine."""
        self._http.request("DELETE", f"{USERS}/delete", json={"username": username}, tolerate={RESOURCE_DOES_NOT_EXIST})

    # Permissions

    def grant(self, experiment_id: str, username: str, permission: Permission) -> None:
        """Give ``username`` ``permission`` on the experiment, replacing any other level they had."""
        self._replace_grant(experiment_id, username, permission, self.permissions(experiment_id).get(username))

    def revoke(self, experiment_id: str, username: str) -> None:
        """Remove ``username``'s grant on the experiment; no grant (or no such user) is fine."""
        self._http.request(
            "POST", f"{USER_PERMISSIONS}/revoke", json=_grant(experiment_id, username), tolerate={RESOURCE_DOES_NOT_EXIST}
        )

    def permissions(self, experiment_id: str) -> dict[str, Permission]:
        """Each user's own grant on this experiment.

        Not listed: grants on every experiment (pattern ``*``) and roles an admin assigned by hand.
        """
        body = self._http.request("GET", f"{USERS}/list") or {}
        found: dict[str, Permission] = {}
        for user in body.get("users", []):
            own_role = f"__user_{user['id']}__"
            for role in user.get("roles", []):
                if role.get("name") != own_role:
                    continue
                for grant in role.get("permissions", []):
                    if grant.get("resource_type") == EXPERIMENT and str(grant.get("resource_pattern")) == experiment_id:
                        found[str(user["username"])] = Permission(grant["permission"])
        return found

    def set_permissions(self, experiment_id: str, wanted: Mapping[str, Permission]) -> None:
        """Make the users' own grants on the experiment exactly ``wanted``: grant, change, revoke the rest."""
        current = self.permissions(experiment_id)
        for username in sorted(current.keys() - wanted.keys()):
            self.revoke(experiment_id, username)
        for username, permission in sorted(wanted.items()):
            self._replace_grant(experiment_id, username, permission, current.get(username))

    def _replace_grant(self, experiment_id: str, username: str, permission: Permission, current: Permission | None) -> None:
        if current == permission:
            return
        if current is not None:
            # The unified API has no update: a grant is replaced by revoke + grant. The user briefly
            # has the server default (no access in the lab), never more than either level.
            self.revoke(experiment_id, username)
        self._http.request("POST", f"{USER_PERMISSIONS}/grant", json=_grant(experiment_id, username) | {"permission": permission})


def _experiment(found: Mapping[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(found["experiment_id"]),
        name=str(found["name"]),
        artifact_location=str(found.get("artifact_location", "")),
        lifecycle_stage=str(found.get("lifecycle_stage", ACTIVE)),
        tags={str(tag["key"]): str(tag.get("value", "")) for tag in found.get("tags", [])},
    )


def _grant(experiment_id: str, username: str) -> dict[str, str]:
    return {"username": username, "resource_type": EXPERIMENT, "resource_id": experiment_id}
