"""MLflow for the sandboxes: an admin client over the REST API and the ``AuditExperiment`` dynamic resource.

``MlflowAdmin`` talks to an MLflow 3 server run with ``--app-name basic-auth``;
``AuditExperiment`` gives one audit an experiment that only its team can use, known by the id
ailab recorded when it created it (:mod:`.ownership`).
"""

from ailab.services.mlflow.client import Experiment, MlflowAdmin, Permission
from ailab.services.mlflow.resource import AuditExperiment, AuditExperimentProvider

__all__ = ["AuditExperiment", "AuditExperimentProvider", "Experiment", "MlflowAdmin", "Permission"]
