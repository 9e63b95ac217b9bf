"""``AuditExperiment``: one audit's MLflow experiment and its team's access, as a Pulumi dynamic resource.

- create: a new experiment ``audit/<id>``, refused when the name is taken (ailab never adopts an
  experiment it did not create; see :mod:`.ownership`), an MLflow user for each member who has
  none (a generated password, returned once in the secret output ``generated_passwords``), and
  EDIT for each member. Every other user keeps the server's ``default_permission``
  (``NO_PERMISSIONS`` in the lab); stray grants are revoked. If anything fails after the
  experiment was made, it is retired, so running the command again starts clean.
- update: the experiment is the one whose id was recorded at creation, checked first (a rename
  by a member is reverted and listed in the output ``reverted_renames``, for the audit log; any
  other change is refused); then tags, new members (users and grants), removed members' grants
  revoked.
- delete: every grant on the recorded experiment revoked, then the experiment retired: renamed
  out of ``audit/<id>`` and deleted (softly: runs stay on the server until ``mlflow gc``). Users
  are kept: they may belong to other audits.

A new audit id replaces the resource (old one deleted first); new members, tags, admin
credentials or a new ``tracking_url`` update it. ``tracking_url`` is where the experiment is
reached from the operator's machine (the lab's ingress), recorded as the fallback: every operation
calls the URL in ``AILAB_MLFLOW_ADMIN_URL`` when the process has it, so the in-cluster reaper, with the
cluster-local URL there, deletes what a workstation created (see :mod:`ailab.services.endpoint`). ``generated_passwords`` holds only the passwords made by the latest
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
from ailab.services.endpoint import admin_endpoint
from ailab.services.mlflow import ownership
from ailab.services.mlflow.client import Experiment, MlflowAdmin, Permission
from ailab.spec import labels, naming
from ailab.spec.service_env import MLFLOW_ADMIN_URL_ENV

MEMBER_PERMISSION = Permission.EDIT
REPLACE_ON = ("audit_id", "experiment_name")
UPDATE_ON = ("tracking_url", "admin_username", "admin_password", "members", "tags")
SECRET_OUTPUTS = ["admin_password", "generated_passwords"]
OUTPUTS = ("experiment_id", "artifact_location", "generated_passwords", "reverted_renames")


class AuditExperimentProvider(ResourceProvider):
    """The CRUD of :class:`AuditExperiment`; stateless, because Pulumi pickles it into the state."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, require_text(news, "tracking_url", "admin_username", "admin_password", "experiment_name"))

    def create(self, props: dict[str, Any]) -> CreateResult:
        with _admin(props) as mlflow:
            experiment = ownership.create(mlflow, props["experiment_name"], props["tags"])
            try:
                passwords = _admit_members(mlflow, experiment.experiment_id, props["members"])
            except AilabError:
                # Pulumi records nothing of a failed create: an experiment left behind would be one
                # ailab could never tell from a squatter's, so it goes.
                with contextlib.suppress(AilabError):
                    mlflow.set_permissions(experiment.experiment_id, {})
                    ownership.retire(mlflow, experiment, props["experiment_name"])
                raise
        return CreateResult(experiment.experiment_id, _outputs(props, experiment, passwords))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_inputs(olds, news, replace_on=REPLACE_ON, update_on=UPDATE_ON)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with _admin(news) as mlflow:
            experiment, reverted = ownership.verify(mlflow, id_, olds["experiment_name"], olds["audit_id"])
            try:
                dropped_tags = tuple(sorted(dict(olds.get("tags") or {}).keys() - news["tags"].keys()))
                mlflow.set_experiment_tags(id_, news["tags"], remove=dropped_tags)
                passwords = _admit_members(mlflow, id_, news["members"])
            except AilabError as error:
                if reverted is None:
                    raise
                # The next run finds the name restored: the failure is the only report of the rename.
                raise type(error)(f"{error} (before failing, MLflow {reverted})") from error
        return UpdateResult(_outputs(news, experiment, passwords, reverted))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with _admin(props) as mlflow:
            ownership.destroy(mlflow, id_, props["experiment_name"], props["audit_id"])


class AuditExperiment(Resource, module="ailab", name="AuditExperiment"):
    """The MLflow experiment of audit ``audit_id``, readable and writable by ``members`` only.

    The resource id is the experiment id, recorded at creation: later updates and the delete act
    on that id only, never on a name. ``admin_password`` is always stored as a secret, and so is
    ``generated_passwords`` (username to password, for the users the latest create or update
    made). ``reverted_renames`` lists the renames the latest update undid (``experiment_id``,
    ``renamed_to``, ``restored_name``), for the caller to record.
    """

    experiment_id: pulumi.Output[str]
    experiment_name: pulumi.Output[str]
    artifact_location: pulumi.Output[str]
    generated_passwords: pulumi.Output[dict[str, str]]
    reverted_renames: pulumi.Output[list[dict[str, str]]]

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
            **dict.fromkeys(OUTPUTS),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(AuditExperimentProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


def _admin(props: Mapping[str, Any]) -> MlflowAdmin:
    endpoint = admin_endpoint(MLFLOW_ADMIN_URL_ENV, props["tracking_url"])
    return MlflowAdmin(endpoint.url, props["admin_username"], props["admin_password"], tls=endpoint.tls)


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


def _outputs(
    inputs: Mapping[str, Any],
    experiment: Experiment,
    passwords: dict[str, str],
    reverted: ownership.RevertedRename | None = None,
) -> dict[str, Any]:
    return {
        **inputs,
        "experiment_id": experiment.experiment_id,
        "artifact_location": experiment.artifact_location,
        "generated_passwords": passwords,
        "reverted_renames": [] if reverted is None else [reverted.as_output()],
    }
