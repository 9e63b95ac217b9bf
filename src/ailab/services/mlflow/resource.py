"""``AuditExperiment``: one audit's MLflow experiment and its team's access, as a Pulumi dynamic resource.

- create: the experiment ``audit/<id>`` (restored if an earlier sandbox of the audit deleted it),
  an MLflow user for each member who has none (a generated password, returned once in the
  secret output ``generated_passwords``), and EDIT for each member. Every other user keeps the
  server's ``default_permission`` (``NO_PERMISSIONS`` in the lab); stray grants are revoked.
- update: tags, new members (users and grants), removed members' grants revoked.
- delete: every grant on the experiment revoked, then the experiment deleted (softly: runs stay
  on the server until ``mlflow gc``). Users are kept: they may belong to other audits.

A new URL or audit id replaces the resource (old one deleted first); new members, tags or admin
credentials update it. ``generated_passwords`` holds only the passwords made by the latest
create or update; store them with :mod:`ailab.services.credentials` when they appear.
``delete`` runs with the admin credentials recorded at the last create/update: after rotating
the admin password, run an update (``pulumi up``) before a destroy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from ailab.errors import AilabError, BadInputError
from ailab.services.dynamic import diff_inputs, require_text
from ailab.services.mlflow.client import MlflowAdmin, Permission
from ailab.spec import labels, naming

MEMBER_PERMISSION = Permission.EDIT
REPLACE_ON = ("tracking_url", "audit_id", "experiment_name")
UPDATE_ON = ("admin_username", "admin_password", "members", "tags")
SECRET_OUTPUTS = ["admin_password", "generated_passwords"]


class AuditExperimentProvider(ResourceProvider):
    """The CRUD of :class:`AuditExperiment`; stateless, because Pulumi pickles it into the state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, require_text(news, "tracking_url", "admin_username", "admin_password", "experiment_name"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _admin(props) as mlflow:
            experiment_id = mlflow.create_experiment(props["experiment_name"], props["tags"])
            passwords = _admit_members(mlflow, experiment_id, props["members"])
        return CreateResult(experiment_id, _outputs(props, experiment_id, passwords))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_inputs(olds, news, replace_on=REPLACE_ON, update_on=UPDATE_ON)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _admin(news) as mlflow:
            dropped_tags = tuple(sorted(dict(olds.get("tags") or {}).keys() - news["tags"].keys()))
            mlflow.set_experiment_tags(id_, news["tags"], remove=dropped_tags)
            passwords = _admit_members(mlflow, id_, news["members"])
        return UpdateResult(_outputs(news, id_, passwords))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _admin(props) as mlflow:
            mlflow.set_permissions(id_, {})
            mlflow.delete_experiment(id_)


class AuditExperiment(Resource, module="ailab", name="AuditExperiment"):
    """The MLflow experiment of audit ``audit_id``, readable and writable by ``members`` only.

    The resource id is the experiment id. ``admin_password`` is always stored as a secret, and so
    is ``generated_passwords`` (username to password, for the users the latest create or update
    made).
    """

    experiment_id: pulumi.Output[str]
    experiment_name: pulumi.Output[str]
    generated_passwords: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        *,
        tracking_url: pulumi.Input[str],
        admin_username: pulumi.Input[str],
        admin_password: pulumi.Input[str],
        audit_id: str,
        members: Sequence[str],
        tags: Mapping[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        if not all(isinstance(member, str) and member for member in members):
            raise BadInputError(f"MLflow members of audit {audit_id!r} must be non-empty user names, got {list(members)!r}")
        props: dict[str, Any] = {
            "tracking_url": tracking_url,
            "admin_username": admin_username,
            "admin_password": pulumi.Output.secret(admin_password),
            "audit_id": audit_id,
            "experiment_name": naming.mlflow_experiment(audit_id),
            # Sorted and unique, so reordering a team is no change.
            "members": sorted(set(members)),
            "tags": {**(tags or {}), labels.AUDIT_ID: audit_id},
            "experiment_id": None,
            "generated_passwords": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(AuditExperimentProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


def _admin(props: Mapping[str, Any]) -> MlflowAdmin:
    return MlflowAdmin(props["tracking_url"], props["admin_username"], props["admin_password"])


def _admit_members(mlflow: MlflowAdmin, experiment_id: str, members: Sequence[str]) -> dict[str, str]:
    """Create missing users and make the grants exactly ``members`` at EDIT; return the new passwords."""
    passwords: dict[str, str] = {}
    try:
        for member in members:
            password = mlflow.ensure_user(member)
            if password is not None:
                passwords[member] = password
        mlflow.set_permissions(experiment_id, dict.fromkeys(members, MEMBER_PERMISSION))
    except AilabError:
        # The passwords die with this failure: remove the users they belong to, so that running the
        # command again creates them afresh (with passwords that reach their owners).
        for member in passwords:
            with contextlib.suppress(AilabError):
                mlflow.delete_user(member)
        raise
    return passwords


def _outputs(inputs: Mapping[str, Any], experiment_id: str, passwords: dict[str, str]) -> dict[str, Any]:
    return {**inputs, "experiment_id": experiment_id, "generated_passwords": passwords}
