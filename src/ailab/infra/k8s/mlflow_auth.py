"""Runs inside the MLflow server: basic-auth's authentication plus one rule, ``audit/`` names are the admins'.

MLflow's basic-auth app calls the ``authorization_function`` of its ini file for every request
(before any permission check) and answers with the response that function returns, if it
returns one. ailab configures this module's :func:`authenticate_request` there: it authenticates
exactly as MLflow's own ``authenticate_request_basic_auth`` does, then refuses (403) a
non-admin who

- creates an experiment whose name starts with ``audit/``;
- renames an experiment to such a name, or renames one that has such a name.

MLflow's permissions cannot say this themselves: creating an experiment needs no grant at all,
and a member needs EDIT on their audit's experiment to create runs in it, which is also the
right to rename it. Admins (ailab) are not restricted.

This file is shipped to the server as it is (:mod:`ailab.infra.k8s.mlflow` mounts it from a
ConfigMap as the top-level module ``ailab_mlflow_auth`` on ``PYTHONPATH``), so it imports
nothing from ailab, and MLflow only inside the server (importing ``mlflow.server.auth`` reads
the auth config).
"""

from __future__ import annotations

from typing import Any

RESERVED_PREFIX = "audit/"
CREATE_SUFFIX = "/mlflow/experiments/create"
RENAME_SUFFIX = "/mlflow/experiments/update"
"""Paths end so under every prefix MLflow serves them at (``/api/2.0``, ``/ajax-api/2.0``, a static prefix)."""


def reserved(name: str) -> bool:
    """Whether ``name`` is an audit experiment's name (case and leading blanks ignored, for case-insensitive databases)."""
    return name.lstrip().casefold().startswith(RESERVED_PREFIX)


def authenticate_request() -> Any:
    """MLflow's basic-auth authentication, then the ``audit/`` rule for non-admins: an ``Authorization`` or a ``Response``."""
    from mlflow.server.auth import authenticate_request_basic_auth, store

    authorization = authenticate_request_basic_auth()
    username = getattr(authorization, "username", None)
    if not username or store.get_user(username).is_admin:
        return authorization
    refusal = _refusal()
    return authorization if refusal is None else refusal


def _refusal() -> Any:
    """A 403 response when this request creates or renames an experiment against the rule; else None."""
    from flask import make_response, request
    from mlflow.protos.service_pb2 import CreateExperiment, UpdateExperiment
    from mlflow.server.handlers import _get_request_message

    if request.method != "POST" or not request.path.endswith((CREATE_SUFFIX, RENAME_SUFFIX)):
        return None
    # Read as MLflow's handler will read it (field aliases such as ``newName``, double-encoded
    # JSON); a body it refuses is refused here the same way, before anything changes.
    names: list[str | None]
    if request.path.endswith(CREATE_SUFFIX):
        names = [_get_request_message(CreateExperiment()).name]
    else:
        update = _get_request_message(UpdateExperiment())
        names = [update.new_name, _current_name(update.experiment_id)]
    if not any(name is not None and reserved(name) for name in names):
        return None
    response = make_response(
        f"Permission denied: experiment names starting with '{RESERVED_PREFIX}' belong to ailab's audit sandboxes; "
        "only an MLflow admin may create or rename such experiments"
    )
    response.status_code = 403
    response.mimetype = "text/plain"
    return response


def _current_name(experiment_id: str) -> str | None:
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_tracking_store

    if not experiment_id:
        return None
    try:
        return str(_get_tracking_store().get_experiment(experiment_id).name)
    except MlflowException:
        return None  # no such experiment: the handler answers 404
