"""The Kubernetes objects of one sandbox, as plain data.

Each function returns the keyword arguments of the matching ``pulumi_kubernetes`` class
(``metadata``, ``spec``, ``rules`` ...; nested keys in the Kubernetes API's camelCase), so the
component only registers them and tests read them without running Pulumi. Values that come from
the lab stack at deployment time (namespace names, URLs) may be ``pulumi.Input`` s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from ailab.sandbox.ids import owner_label
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec import gpu_sharing, labels, naming
from ailab.spec.constants import WHOLE_GPU
from ailab.spec.model import LabSpec
from ailab.spec.types import byte_count, cpu_cores

TEAM = f"{labels.PREFIX}/team"
"""Annotation: the team members, comma-separated (usernames may not be label values)."""
REQUESTED_BY = f"{labels.PREFIX}/requested-by"
CREATED_AT = f"{labels.PREFIX}/created-at"

QUOTA = "sandbox-quota"
LIMITS = "sandbox-limits"
ROLE = naming.SANDBOX_TEAM_ROLE
WORKLOAD_SA = "workload"
WORKBENCH = "workbench"
QDRANT_SECRET = "qdrant-token"
WORKBENCH_PORT = 8888

WORKBENCH_SHARE = 2
"""The workbench takes 1/2 of the profile's CPU and memory; the rest is for the team's jobs."""
DEFAULT_SHARE = 4
"""A container that states no resources gets 1/4 of the profile (LimitRange default)."""
WORKBENCH_UID = 1000
WORKBENCH_GID = 100
"""``jovyan`` and ``users`` of the Jupyter Docker Stacks images."""
HOME_SIZE = "10Gi"
TMP_SIZE = "2Gi"
"""Set by the API server on every namespace; what NetworkPolicies select namespaces by."""


@dataclass(frozen=True)
class LabServices:
    """Where the lab's shared services live, as the sandbox's network policies and workbench need them."""

    mlflow_namespace: pulumi.Input[str]
    qdrant_namespace: pulumi.Input[str]
    mlflow_url: pulumi.Input[str]
    qdrant_url: pulumi.Input[str]


def namespace_name(spec: SandboxSpec) -> str:
    return naming.sandbox_namespace(spec.audit_id)


def common_labels(spec: SandboxSpec, lab: LabSpec) -> dict[str, str]:
    """Labels on every object of the sandbox: who owns it, for which audit, how sensitive its data is."""
    return {
        labels.PART_OF: lab.name,
        labels.MANAGED_BY: "ailab",
        labels.COMPONENT: "sandbox",
        labels.AUDIT_ID: spec.audit_id,
        labels.OWNER: owner_label(spec.lead),
        labels.COST_CENTRE: lab.tags.cost_centre,
        labels.DATA_CLASSIFICATION: spec.data_classification,
    }


def _meta(spec: SandboxSpec, lab: LabSpec, name: str, **extra_labels: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace_name(spec), "labels": {**common_labels(spec, lab), **extra_labels}}


def namespace(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    """The namespace: PSA ``restricted``, labelled for ownership, annotated with its expiry."""
    ns_labels = {**common_labels(spec, lab), labels.SANDBOX_PROFILE: spec.profile_name, **labels.psa_restricted()}
    if spec.gpus and spec.profile.gpu_pool:
        ns_labels[labels.GPU_POOL] = spec.profile.gpu_pool
    annotations = {
        labels.EXPIRES_AT: iso(spec.expires_at),
        labels.MAX_EXPIRES_AT: iso(spec.max_expires_at),
        labels.PURPOSE: spec.purpose,
        CREATED_AT: iso(spec.created_at),
        TEAM: ",".join(spec.team),
        REQUESTED_BY: spec.requested_by,
    }
    if "@" in spec.lead:
        annotations[labels.OWNER_CONTACT] = spec.lead
    return {"metadata": {"name": namespace_name(spec), "labels": ns_labels, "annotations": annotations}}


def gpu_quota(spec: SandboxSpec, lab: LabSpec) -> dict[str, str]:
    """A quota for every GPU resource the lab advertises: the sandbox's GPUs on its pool's resource, 0 on all others.

    Without the zeros a CPU sandbox could still request, say, ``nvidia.com/mig-1g.10gb``: a
    resource with no quota key is unlimited.
    """
    hard = {f"requests.{WHOLE_GPU}": "0"}
    hard.update({gpu_sharing.quota_key(pool): "0" for pool in lab.gpu_pools})
    if spec.gpus and spec.profile.gpu_pool:
        hard[gpu_sharing.quota_key(lab.gpu_pool(spec.profile.gpu_pool))] = str(spec.gpus)
    return dict(sorted(hard.items()))


def resource_quota(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    profile = spec.profile
    hard = {
        "requests.cpu": profile.cpu,
        "limits.cpu": profile.cpu,
        "requests.memory": profile.memory,
        "limits.memory": profile.memory,
        "requests.storage": profile.storage,
        "pods": str(profile.pods),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        **gpu_quota(spec, lab),
    }
    return {"metadata": _meta(spec, lab, QUOTA), "spec": {"hard": hard}}


def _cpu_share(quantity: str, share: int) -> str:
    return f"{max(1, int(cpu_cores(quantity) * 1000) // share)}m"


def _memory_share(quantity: str, share: int) -> str:
    return f"{max(1, byte_count(quantity) // share // 2**20)}Mi"


def limit_range(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    """Defaults for containers that state no resources (so the quota can admit them) and per-object maxima."""
    profile = spec.profile
    default = {"cpu": _cpu_share(profile.cpu, DEFAULT_SHARE), "memory": _memory_share(profile.memory, DEFAULT_SHARE)}
    limits = [
        {
            "type": "Container",
            "default": default,
            "defaultRequest": default,
            "max": {"cpu": profile.cpu, "memory": profile.memory},
        },
        {"type": "PersistentVolumeClaim", "max": {"storage": profile.storage}},
    ]
    return {"metadata": _meta(spec, lab, LIMITS), "spec": {"limits": limits}}


def _namespace_peer(name: pulumi.Input[str]) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {labels.NAMESPACE_NAME: name}}}


def network_policies(spec: SandboxSpec, lab: LabSpec, services: LabServices) -> dict[str, dict[str, Any]]:
    """Default deny both ways, then only: DNS, the sandbox's own pods, MLflow, Qdrant and the lab's egress allowlist.

    Policies are additive, so each allowance is its own object named for what it allows.
    """
    dns = {
        "to": [{**_namespace_peer("kube-system"), "podSelector": {"matchLabels": dict(labels.KUBE_DNS)}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    same_namespace: list[dict[str, Any]] = [{"podSelector": {}}]
    lab_services = [
        {"to": [_namespace_peer(services.mlflow_namespace)], "ports": [{"protocol": "TCP", "port": naming.MLFLOW_PORT}]},
        {
            "to": [_namespace_peer(services.qdrant_namespace)],
            "ports": [{"protocol": "TCP", "port": naming.QDRANT_HTTP_PORT}, {"protocol": "TCP", "port": naming.QDRANT_GRPC_PORT}],
        },
    ]
    specs: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [dns]},
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": same_namespace}],
            "egress": [{"to": same_namespace}],
        },
        "allow-lab-services": {"podSelector": {}, "policyTypes": ["Egress"], "egress": lab_services},
    }
    if lab.sandbox.egress_allowlist:
        specs["allow-egress-allowlist"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": str(rule.cidr)}}],
                    "ports": [{"protocol": rule.protocol, "port": p} for p in rule.ports],
                }
                for rule in lab.sandbox.egress_allowlist
            ],
        }
    return {name: {"metadata": _meta(spec, lab, name), "spec": body} for name, body in specs.items()}


_READ = ["get", "list", "watch"]
_MANAGE = [*_READ, "create", "update", "patch", "delete"]


def role(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    """What an audit team does in its namespace: run and inspect workloads, use the workbench, read its Qdrant token.

    Deliberately absent: secrets beyond the sandbox's own token (creating pods already exposes
    every secret in the namespace, so there is only that one), creating secrets (a
    service-account-token secret would mint credentials), service accounts, RBAC, quotas,
    network policies (read-only) and anything outside the namespace. No wildcards.
    """
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": [*_READ, "create", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        # WebSocket clients (kubectl >= 1.30) open exec and port-forward with GET, older ones with POST.
        {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
        {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims", "services"], "verbs": _MANAGE},
        {"apiGroups": [""], "resources": ["events", "resourcequotas", "limitranges"], "verbs": _READ},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [QDRANT_SECRET], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "replicasets", "statefulsets"], "verbs": _READ},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "update", "patch"]},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": _MANAGE},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": _READ},
    ]
    return {"metadata": _meta(spec, lab, ROLE), "rules": rules}


def role_binding(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    """The team's users and its group, named as the API server sees them (with the identity provider's prefixes)."""
    api_group = "rbac.authorization.k8s.io"
    access = lab.access
    subjects = [{"kind": "User", "apiGroup": api_group, "name": access.kubernetes_user(member)} for member in spec.team]
    if spec.group:
        subjects.append({"kind": "Group", "apiGroup": api_group, "name": access.kubernetes_group(spec.group)})
    return {
        "metadata": _meta(spec, lab, ROLE),
        "role_ref": {"apiGroup": api_group, "kind": "Role", "name": ROLE},
        "subjects": subjects,
    }


def service_account(spec: SandboxSpec, lab: LabSpec) -> dict[str, Any]:
    """The identity workloads run as; it has no RBAC and its token is never mounted."""
    return {"metadata": _meta(spec, lab, WORKLOAD_SA), "automount_service_account_token": False}


def qdrant_secret(
    spec: SandboxSpec, lab: LabSpec, services: LabServices, collection: str, token: pulumi.Input[str]
) -> dict[str, Any]:
    """The collection-scoped JWT, with where to use it; the workbench reads it as environment variables."""
    return {
        "metadata": _meta(spec, lab, QDRANT_SECRET),
        "type": "Opaque",
        "string_data": {"QDRANT_URL": services.qdrant_url, "QDRANT_COLLECTION": collection, "QDRANT_API_KEY": token},
    }


def workbench(spec: SandboxSpec, lab: LabSpec, services: LabServices, experiment_id: pulumi.Input[str]) -> dict[str, Any]:
    """A hardened JupyterLab: non-root, read-only root filesystem, no privilege escalation, no capabilities,
    RuntimeDefault seccomp, Guaranteed resources, and the sandbox's GPUs on its pool's nodes.

    MLflow clients in it use the audit's experiment by id (``MLFLOW_EXPERIMENT_ID``), never by
    name: given a name that does not exist (renamed away on a server without the lab's rule), the
    MLflow client would create a new experiment of that name, owned by whoever ran it.

    Reached with ``kubectl port-forward`` (through the API server, not the network) and Jupyter's
    token, printed in its log.
    """
    profile = spec.profile
    resources: dict[str, str] = {
        "cpu": _cpu_share(profile.cpu, WORKBENCH_SHARE),
        "memory": _memory_share(profile.memory, WORKBENCH_SHARE),
    }
    pod_spec: dict[str, Any] = {}
    if spec.gpus and profile.gpu_pool:
        pool = lab.gpu_pool(profile.gpu_pool)
        resources[gpu_sharing.resource_name(pool)] = str(spec.gpus)
        pod_spec["tolerations"] = [{**gpu_sharing.gpu_taint(), "operator": "Equal"}]
        pod_spec["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": labels.GPU_POOL, "operator": "In", "values": [pool.name]}]}
                    ]
                }
            }
        }
    container = {
        "name": WORKBENCH,
        "image": lab.sandbox.workbench_image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["start-notebook.py", f"--ServerApp.port={WORKBENCH_PORT}"],
        "ports": [{"name": "http", "containerPort": WORKBENCH_PORT, "protocol": "TCP"}],
        "env": [
            {"name": "HOME", "value": "/home/jovyan"},
            {"name": "MLFLOW_TRACKING_URI", "value": services.mlflow_url},
            {"name": "MLFLOW_EXPERIMENT_ID", "value": experiment_id},
        ],
        "envFrom": [{"secretRef": {"name": QDRANT_SECRET}}],
        "resources": {"requests": resources, "limits": resources},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": WORKBENCH_UID,
            "runAsGroup": WORKBENCH_GID,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "readinessProbe": {"httpGet": {"path": "/api", "port": WORKBENCH_PORT}, "periodSeconds": 10},
        "volumeMounts": [{"name": "home", "mountPath": "/home/jovyan"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    selector = {labels.NAME: WORKBENCH, labels.AUDIT_ID: spec.audit_id}
    pod_labels = {**common_labels(spec, lab), **selector}
    pod_spec.update(
        {
            "serviceAccountName": WORKLOAD_SA,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": WORKBENCH_UID,
                "runAsGroup": WORKBENCH_GID,
                "fsGroup": WORKBENCH_GID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [
                {"name": "home", "emptyDir": {"sizeLimit": HOME_SIZE}},
                {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}},
            ],
        }
    )
    return {
        "metadata": _meta(spec, lab, WORKBENCH, **{labels.NAME: WORKBENCH}),
        "spec": {
            "replicas": 1,
            # GPUs are exclusive: a rolling update would wait forever for a second set.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": pod_labels}, "spec": pod_spec},
        },
    }
