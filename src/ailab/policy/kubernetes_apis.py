"""Kubernetes API versions that were removed, and the current kinds that replace them.

A manifest written for an old cluster (``extensions/v1beta1`` DaemonSets, ``batch/v1beta1``
CronJobs) still describes pods with host access and privileges: rules are written against the
current type tokens, so an object of an old API version whose schema is the current kind's is
checked *as* that kind (:func:`current_type`), and AILAB-K8S-013 reports the old version on its
own. Kinds whose schema changed (``extensions/v1beta1`` Ingress) keep their own token: read as
the current kind they would be misread, so only their version is reported.

Sources: the Kubernetes deprecated API migration guide (kubernetes.io/docs/reference/using-api/
deprecation-guide/) and OpenShift 4.14's deprecation of DeploymentConfig.
"""

from __future__ import annotations

from typing import NamedTuple


class Removal(NamedTuple):
    """What replaces an API version of a kind, and the release that stopped serving it."""

    replacement: str
    """The apiVersion (or, for OpenShift, the kind) to use instead."""
    removed_in: str
    """The Kubernetes minor release that no longer serves it ("deprecated" where it still is)."""
    same_schema: bool
    """Whether the object reads as the current kind (then it is checked as one)."""


_WORKLOADS = ("DaemonSet", "Deployment", "ReplicaSet", "StatefulSet")
_RBAC = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")

REMOVED: dict[tuple[str, str], Removal] = {
    **{("extensions/v1beta1", kind): Removal("apps/v1", "1.16", True) for kind in _WORKLOADS if kind != "StatefulSet"},
    **{("apps/v1beta1", kind): Removal("apps/v1", "1.16", True) for kind in ("Deployment", "StatefulSet")},
    **{("apps/v1beta2", kind): Removal("apps/v1", "1.16", True) for kind in _WORKLOADS},
    ("extensions/v1beta1", "NetworkPolicy"): Removal("networking.k8s.io/v1", "1.16", True),
    ("extensions/v1beta1", "PodSecurityPolicy"): Removal("Pod Security Admission labels", "1.16", False),
    ("extensions/v1beta1", "Ingress"): Removal("networking.k8s.io/v1", "1.22", False),
    ("networking.k8s.io/v1beta1", "Ingress"): Removal("networking.k8s.io/v1", "1.22", False),
    ("networking.k8s.io/v1beta1", "IngressClass"): Removal("networking.k8s.io/v1", "1.22", True),
    **{("rbac.authorization.k8s.io/v1beta1", kind): Removal("rbac.authorization.k8s.io/v1", "1.22", True) for kind in _RBAC},
    **{("rbac.authorization.k8s.io/v1alpha1", kind): Removal("rbac.authorization.k8s.io/v1", "1.22", True) for kind in _RBAC},
    ("batch/v1beta1", "CronJob"): Removal("batch/v1", "1.25", True),
    ("batch/v2alpha1", "CronJob"): Removal("batch/v1", "1.21", True),
    ("policy/v1beta1", "PodDisruptionBudget"): Removal("policy/v1", "1.25", True),
    ("policy/v1beta1", "PodSecurityPolicy"): Removal("Pod Security Admission labels", "1.25", False),
    ("node.k8s.io/v1beta1", "RuntimeClass"): Removal("node.k8s.io/v1", "1.25", True),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"): Removal("discovery.k8s.io/v1", "1.25", False),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): Removal("autoscaling/v2", "1.25", False),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): Removal("autoscaling/v2", "1.26", True),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): Removal("scheduling.k8s.io/v1", "1.22", True),
    ("apps.openshift.io/v1", "DeploymentConfig"): Removal("Deployment (apps/v1)", "deprecated", False),
}
"""``(apiVersion, kind)`` → its removal; keys use the manifest's spelling."""


def declared_type(api_version: str, kind: str) -> str:
    """The Pulumi Kubernetes type token ``apiVersion``/``kind`` spell (``v1``/``Pod`` → ``kubernetes:core/v1:Pod``)."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


_CURRENT = {
    declared_type(api, kind): f"kubernetes:{removed.replacement}:{kind}"
    for (api, kind), removed in REMOVED.items()
    if removed.same_schema
}


def current_type(token: str) -> str:
    """The current type token of ``token`` when it names a removed version of a kind with the same schema, else ``token``."""
    return _CURRENT.get(token, token)


def removal(api_version: object, kind: object) -> Removal | None:
    """The removal of ``apiVersion``/``kind`` as written in an object, or None when it is current (or unknown)."""
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    return REMOVED.get((api_version, kind))
