"""The environment variables that tell the engine's dynamic providers where and how to reach MLflow and Qdrant.

Two layers set them (the sandbox commands on a workstation, the reaper's CronJob in the cluster)
and one reads them (:mod:`ailab.services.endpoint`), so the names live below all three.
"""

from __future__ import annotations

MLFLOW_ADMIN_URL_ENV = "AILAB_MLFLOW_ADMIN_URL"
"""The MLflow URL the provider process uses, whatever the resource recorded (set by the CLI and the reaper)."""
QDRANT_ADMIN_URL_ENV = "AILAB_QDRANT_ADMIN_URL"
"""The Qdrant URL the provider process uses, whatever the resource recorded (set by the CLI and the reaper)."""
CA_BUNDLE_ENV = "AILAB_LAB_CA_BUNDLE"
"""A PEM file of the CA that signed the lab's ingress certificate; unset: the system trust store."""
