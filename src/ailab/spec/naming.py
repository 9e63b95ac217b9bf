"""Names and in-cluster addresses derived from the spec.

The lab program creates these and the sandbox program (and its offline plan, which has no
lab stack outputs to read) refers to them, so both compute them here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX

if TYPE_CHECKING:
    from ailab.spec.model import LabSpec

MLFLOW_PORT = 5000
QDRANT_HTTP_PORT = 6333
QDRANT_GRPC_PORT = 6334
POSTGRES_PORT = 5432


def mlflow_namespace(spec: LabSpec) -> str:
    return f"{spec.name}-mlflow"


def vector_db_namespace(spec: LabSpec) -> str:
    return f"{spec.name}-vectordb"


def gpu_namespace(spec: LabSpec) -> str:
    return f"{spec.name}-gpu"


def ingress_namespace(spec: LabSpec) -> str:
    """Where the lab's own ingress controller runs (``ingress.controller: traefik``)."""
    return f"{spec.name}-ingress"


def ingress_controller_namespace(spec: LabSpec) -> str | None:
    """Where the ingress controller's pods run: the lab's namespace, a provided controller's, or None without an ingress."""
    if spec.ingress is None:
        return None
    return ingress_namespace(spec) if spec.ingress.installed else spec.ingress.cluster_controller_namespace


def platform_namespaces(spec: LabSpec) -> list[str]:
    """Every namespace the lab itself owns (sandboxes come and go separately)."""
    owned = [mlflow_namespace(spec), vector_db_namespace(spec), gpu_namespace(spec)]
    if spec.ingress is not None and spec.ingress.installed:
        owned.append(ingress_namespace(spec))
    return owned


def mlflow_url(spec: LabSpec) -> str:
    return f"http://mlflow.{mlflow_namespace(spec)}.svc.cluster.local:{MLFLOW_PORT}"


def qdrant_url(spec: LabSpec) -> str:
    return f"http://qdrant.{vector_db_namespace(spec)}.svc.cluster.local:{QDRANT_HTTP_PORT}"


def sandbox_namespace(audit_id: str) -> str:
    """Namespace of the sandbox of ``audit_id`` (a validated DNS label of at most 40 characters)."""
    return f"{SANDBOX_NAMESPACE_PREFIX}{audit_id}"


def mlflow_experiment(audit_id: str) -> str:
    return f"audit/{audit_id}"


def qdrant_collection(audit_id: str) -> str:
    """Qdrant collection names allow no '-' ambiguity issues, but '_' keeps them readable in the UI."""
    return f"audit_{audit_id.replace('-', '_')}"
