"""Which MLflow experiment is an audit's: the one ailab created, known by the id it recorded then.

A name proves nothing on an MLflow server: any user may create ``audit/<id>`` before ailab does
(with an artifact location of their choice), and a member with EDIT on their audit's
experiment may rename it (MLflow ties creating runs and renaming to the same ``update``
right). So:

- :func:`create` never adopts: a taken name is refused, naming the experiment that holds it.
  What it creates must have the lab's artifact location, ``mlflow-artifacts:/<id>`` (the proxied
  store, under the experiment's own id: the path MLflow's artifact-proxy authorization reads
  the experiment from); if anything fails after the create, the new experiment is retired.
- :func:`verify` checks, before every later act, that the recorded id is still an active
  experiment with that artifact location. A rename by a member is reverted (and returned, for
  the audit log); a changed artifact location, a vanished experiment or a name that cannot be
  restored is refused.
- :func:`destroy` revokes every grant and :func:`retire` renames the experiment out of ``audit/<id>`` to an unguessable
  ``audit/<id>/retired-<experiment id>-<random>``, then deletes it softly: the name is free for a
  later sandbox of the audit, which gets a new experiment, and the old runs stay on the server
  (restorable by an admin) until ``mlflow gc``. A name a member had given it is kept in its tag
  ``ailab.eu/renamed-to`` (a delete has no output to carry it to the audit log).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from ailab.errors import BadInputError, OperationFailedError
from ailab.services.mlflow.client import Experiment, MlflowAdmin

ARTIFACT_STORE = "mlflow-artifacts:/"
"""The lab's artifact store as experiments see it: the server proxies it (``--serve-artifacts``)."""

RETIRED_MARK = "/retired-"
RENAMED_TAG = "ailab.eu/renamed-to"
"""Set on an experiment retired while renamed: the name someone had given it, kept as evidence."""


def lab_artifact_location(experiment_id: str) -> str:
    """Where an audit experiment's artifacts must live: its own folder of the lab's proxied store."""
    return f"{ARTIFACT_STORE}{experiment_id}"


@dataclass(frozen=True)
class RevertedRename:
    """A rename ailab undid: the experiment had been renamed to ``renamed_to``; it is ``restored_name`` again."""

    experiment_id: str
    renamed_to: str
    restored_name: str

    def as_output(self) -> dict[str, str]:
        return {"experiment_id": self.experiment_id, "renamed_to": self.renamed_to, "restored_name": self.restored_name}

    def __str__(self) -> str:
        return f"experiment {self.experiment_id} had been renamed to {self.renamed_to!r}; ailab renamed it back to {self.restored_name!r}"


def create(mlflow: MlflowAdmin, name: str, tags: Mapping[str, str]) -> Experiment:
    """Create experiment ``name`` for an audit; refuse a taken name, and an artifact location that is not the lab's."""
    experiment_id = mlflow.create_experiment(name, tags)
    if experiment_id is None:
        raise _taken(mlflow, name)
    created = mlflow.get_experiment(experiment_id)
    if created is None:
        raise OperationFailedError(
            f"MLflow at {mlflow.base_url} created experiment {name!r} (id {experiment_id}) but cannot find it: "
            "check the server's database, then run the command again"
        )
    expected = lab_artifact_location(experiment_id)
    if created.artifact_location != expected:
        retire(mlflow, created, name)
        raise OperationFailedError(
            f"MLflow at {mlflow.base_url} gave experiment {name!r} the artifact location {created.artifact_location!r}, "
            f"not {expected!r}: run the server with --serve-artifacts and without --default-artifact-root, "
            "as ailab deploys it (ailab retired the experiment)"
        )
    return created


def _taken(mlflow: MlflowAdmin, name: str) -> BadInputError:
    holder = mlflow.get_experiment_by_name(name)
    what = (
        f"(id {holder.experiment_id}, {holder.lifecycle_stage}, artifact location {holder.artifact_location!r})"
        if holder is not None
        else "(it vanished since)"
    )
    return BadInputError(
        f"MLflow experiment {name!r} already exists {what} and ailab did not create it for this sandbox, so it will not "
        "adopt it: an MLflow admin inspects it (someone may have pre-created or renamed an experiment to take this "
        "audit's name) and renames it away or deletes and purges it (mlflow gc); then run the command again"
    )


def verify(
    mlflow: MlflowAdmin, experiment_id: str, recorded_name: str, audit_id: str
) -> tuple[Experiment, RevertedRename | None]:
    """The audit's experiment as recorded at creation; a rename is reverted, any other change refused."""
    where = _where(mlflow, experiment_id, recorded_name, audit_id)
    current = mlflow.get_experiment(experiment_id)
    if current is None or not current.active:
        state = "no longer exists" if current is None else f"was deleted (it is now named {current.name!r})"
        raise OperationFailedError(
            f"{where} {state}: ailab acts on no other experiment; an MLflow admin restores it, "
            "or destroy the sandbox and create it again"
        )
    _check_location(mlflow, current, where)
    if current.name == recorded_name:
        return current, None
    if not mlflow.rename_experiment(experiment_id, recorded_name):
        holder = mlflow.get_experiment_by_name(recorded_name)
        other = f"experiment {holder.experiment_id}" if holder is not None else "another experiment"
        raise OperationFailedError(
            f"{where} was renamed to {current.name!r} and {recorded_name!r} is now held by {other}: ailab acts on "
            f"neither; an MLflow admin renames experiment {experiment_id} back to {recorded_name!r} after moving the other away"
        )
    restored = Experiment(current.experiment_id, recorded_name, current.artifact_location, current.lifecycle_stage, current.tags)
    return restored, RevertedRename(experiment_id, current.name, recorded_name)


def _where(mlflow: MlflowAdmin, experiment_id: str, recorded_name: str, audit_id: str) -> str:
    return (
        f"MLflow at {mlflow.base_url}: experiment {experiment_id}, created by ailab as {recorded_name!r} for audit {audit_id!r},"
    )


def _check_location(mlflow: MlflowAdmin, current: Experiment, where: str) -> None:
    expected = lab_artifact_location(current.experiment_id)
    if current.artifact_location != expected:
        raise OperationFailedError(
            f"{where} now keeps its artifacts at {current.artifact_location!r}, not {expected!r} where it was created: "
            "MLflow's API cannot change that, so its database was changed; ailab will not act on it until an MLflow "
            "admin has found out how and restored the location"
        )


def retire(mlflow: MlflowAdmin, experiment: Experiment, recorded_name: str) -> None:
    """Free the experiment's name and delete it softly: renamed to ``<recorded_name>/retired-<id>-<random>``, then deleted.

    Whatever a member renamed it to is freed too. Idempotent: a deleted experiment is left as it
    is, one already renamed is not renamed again.
    """
    if not experiment.active:
        return
    if not experiment.name.startswith(f"{recorded_name}{RETIRED_MARK}"):
        # The random part: nobody can pre-create the name to make the destroy fail.
        retired = f"{recorded_name}{RETIRED_MARK}{experiment.experiment_id}-{secrets.token_hex(4)}"
        if not mlflow.rename_experiment(experiment.experiment_id, retired):
            raise OperationFailedError(
                f"MLflow at {mlflow.base_url}: experiment {experiment.experiment_id} could not be renamed to {retired!r} "
                "(the name is taken): run the command again"
            )
    mlflow.delete_experiment(experiment.experiment_id)


def destroy(mlflow: MlflowAdmin, experiment_id: str, recorded_name: str, audit_id: str) -> None:
    """Revoke every grant on the recorded experiment, then retire it; a vanished one is fine (run again after a failure)."""
    mlflow.set_permissions(experiment_id, {})
    current = mlflow.get_experiment(experiment_id)
    if current is None or not current.active:
        return
    _check_location(mlflow, current, _where(mlflow, experiment_id, recorded_name, audit_id))
    if current.name != recorded_name and not current.name.startswith(f"{recorded_name}{RETIRED_MARK}"):
        # No output reaches the audit log from a delete: the evidence stays on the experiment.
        mlflow.set_experiment_tags(experiment_id, {RENAMED_TAG: current.name})
    retire(mlflow, current, recorded_name)
