"""Names and in-cluster addresses derived from the spec.

The lab program creates these and the sandbox program (and its offline plan, which has no
lab stack outputs to read) refers to them, so both compute them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX

if TYPE_CHECKING:
    from ailab.spec.model import LabSpec

MLFLOW_PORT = 5000
QDRANT_HTTP_PORT = 6333
QDRANT_GRPC_PORT = 6334
POSTGRES_PORT = 5432
RBAC_API_GROUP = "rbac.authorization.k8s.io"


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


def system_namespace(spec: LabSpec) -> str:
    """Where the lab's own jobs run (the sandbox reaper, ``sandbox.reaper``)."""
    return f"{spec.name}-system"


REAPER = "ailab-reaper"
"""The reaper's CronJob and ServiceAccount, in :func:`system_namespace`."""


def sandbox_operator_group(spec: LabSpec) -> str:
    """The Kubernetes group of sandbox operators: EKS access entries map IAM roles into it (no OIDC prefix can forge it)."""
    return f"{spec.name}:sandbox-operators"


SANDBOX_TEAM_ROLE = "audit-team"
"""The Role each sandbox grants its team; sandbox operators may bind it (and only it) besides their own role."""


def sandbox_operator_groups(spec: LabSpec) -> list[str]:
    """Every group bound as sandbox operator: the access entries' group and the OIDC groups of ``access.sandbox_operators``."""
    return [sandbox_operator_group(spec), *(spec.access.kubernetes_group(group) for group in spec.access.sandbox_operators)]


def reaper_service_account(spec: LabSpec) -> str | None:
    """The reaper's ServiceAccount as a Kubernetes user name; None without a reaper."""
    return f"system:serviceaccount:{system_namespace(spec)}:{REAPER}" if spec.sandbox.reaper is not None else None


@dataclass(frozen=True)
class RbacSubject:
    """A subject of an RBAC binding, as both the lab and the sandbox program write it."""

    kind: str
    name: str
    api_group: str | None = None
    namespace: str | None = None


def sandbox_operator_subjects(spec: LabSpec) -> list[RbacSubject]:
    """The subjects of both operator bindings (cluster-wide, and in each sandbox): the groups and the reaper."""
    subjects = [RbacSubject("Group", group, api_group=RBAC_API_GROUP) for group in sandbox_operator_groups(spec)]
    if spec.sandbox.reaper is not None:
        subjects.append(RbacSubject("ServiceAccount", REAPER, namespace=system_namespace(spec)))
    return subjects


def sandbox_operator_role(spec: LabSpec) -> str:
    """The ClusterRole bound cluster-wide to sandbox operators: ``audit-*`` namespaces and the bootstrap binding."""
    return f"{spec.name}-sandbox-operator"


def sandbox_operator_namespaced_role(spec: LabSpec) -> str:
    """The ClusterRole each sandbox binds to its operators inside its own namespace only."""
    return f"{spec.name}-sandbox-operator-in-sandbox"


def platform_namespaces(spec: LabSpec) -> list[str]:
    """Every namespace the lab itself owns (sandboxes come and go separately)."""
    owned = [mlflow_namespace(spec), vector_db_namespace(spec), gpu_namespace(spec)]
    if spec.ingress is not None and spec.ingress.installed:
        owned.append(ingress_namespace(spec))
    if spec.sandbox.reaper is not None:
        owned.append(system_namespace(spec))
    return owned


def mlflow_url(spec: LabSpec) -> str:
    return f"http://mlflow.{mlflow_namespace(spec)}.svc.cluster.local:{MLFLOW_PORT}"


def qdrant_url(spec: LabSpec) -> str:
    return f"http://qdrant.{vector_db_namespace(spec)}.svc.cluster.local:{QDRANT_HTTP_PORT}"


def mlflow_external_url(spec: LabSpec) -> str | None:
    """How machines outside the cluster reach MLflow: the lab's ingress (None without one)."""
    return f"https://{spec.ingress.mlflow_host}" if spec.ingress else None


def qdrant_external_url(spec: LabSpec) -> str | None:
    """How machines outside the cluster reach Qdrant: the lab's ingress (None without one)."""
    return f"https://{spec.ingress.qdrant_host}" if spec.ingress else None


def sandbox_namespace(audit_id: str) -> str:
    """Namespace of the sandbox of ``audit_id`` (a validated DNS label of at most 40 characters)."""
    return f"{SANDBOX_NAMESPACE_PREFIX}{audit_id}"


def mlflow_experiment(audit_id: str) -> str:
    return f"audit/{audit_id}"


def qdrant_collection(audit_id: str) -> str:
    """Qdrant collection names allow no '-' ambiguity issues, but '_' keeps them readable in the UI."""
    return f"audit_{audit_id.replace('-', '_')}"
