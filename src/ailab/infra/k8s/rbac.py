"""Least-privilege roles for the three personas, bound to their OIDC groups (``spec.access``).

The roles are for people's day-to-day work; ``pulumi up`` runs with the cluster's deployment
identity (the EKS creator role, or the on-premises admin context), which can create CRDs and
the GPU operator's own cluster roles. No role here grants a wildcard, ``cluster-admin``,
``bind``/``escalate``/``impersonate``, exec into pods, or read access to Secrets.

* **Architects** operate the platform: manage workloads, configuration, services and ingresses
  in the MLflow and vector-database namespaces (RoleBindings there, not cluster-wide), read
  cluster-scoped objects, and only observe the GPU operator's namespace: PSA enforces
  ``privileged`` there, so creating a pod in it would mean root on a GPU node. Network policies
  and RBAC are read-only to them: isolation changes go through this code and its review. (As
  anywhere in Kubernetes, whoever creates pods in a namespace can mount its Secrets; that is
  bounded to the two namespaces whose Secrets come from the architects' own stack config.)
* **Auditors** list namespaces and read quotas and limit ranges (to see sandbox capacity);
  what they may do inside their sandbox is a Role the sandbox program creates per sandbox.
* **Security reviewers** read configuration across the cluster, including network policies,
  RBAC, quotas, admission webhooks and CRDs, but no Secrets and no pod logs (logs may hold
  the personal data under supervision).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.spec import naming
from ailab.spec.model import LabSpec

RBAC_API_GROUP = naming.RBAC_API_GROUP
READ = ("get", "list", "watch")
MANAGE = (*READ, "create", "update", "patch", "delete")


@dataclass(frozen=True)
class Grant:
    """One PolicyRule: these verbs on these resources of these API groups (``""`` is the core group).

    ``resource_names`` narrows it to those objects (empty: all of them).
    """

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()
    """Only these objects (empty: any)."""

    def rule(self) -> k8s.rbac.v1.PolicyRuleArgs:
        return k8s.rbac.v1.PolicyRuleArgs(
            api_groups=list(self.api_groups),
            resources=list(self.resources),
            verbs=list(self.verbs),
            resource_names=list(self.resource_names) or None,
        )


CONFIG_READ = (
    Grant(("",), ("pods", "services", "endpoints", "configmaps", "persistentvolumeclaims", "serviceaccounts"), READ),
    Grant(("",), ("events", "resourcequotas", "limitranges"), READ),
    Grant(("apps",), ("deployments", "statefulsets", "daemonsets", "replicasets"), READ),
    Grant(("batch",), ("jobs", "cronjobs"), READ),
    Grant(("policy",), ("poddisruptionbudgets",), READ),
    Grant(("networking.k8s.io",), ("ingresses", "networkpolicies"), READ),
    Grant(("discovery.k8s.io",), ("endpointslices",), READ),
    Grant((RBAC_API_GROUP,), ("roles", "rolebindings"), READ),
)
"""Namespaced configuration and its state: everything but Secrets and logs."""

POD_LOGS = Grant(("",), ("pods/log",), READ)

OBSERVE = (*CONFIG_READ, POD_LOGS)
"""An architect in the GPU operator's namespace."""

OPERATE = (
    *OBSERVE,
    Grant(("",), ("configmaps", "services", "persistentvolumeclaims", "serviceaccounts"), MANAGE),
    Grant(("",), ("pods",), ("delete",)),
    Grant(("",), ("pods/portforward",), ("create",)),
    Grant(("apps",), ("deployments", "statefulsets"), MANAGE),
    Grant(("apps",), ("deployments/scale", "statefulsets/scale"), ("get", "update", "patch")),
    Grant(("batch",), ("jobs", "cronjobs"), MANAGE),
    Grant(("policy",), ("poddisruptionbudgets",), MANAGE),
    Grant(("networking.k8s.io",), ("ingresses",), MANAGE),
)
"""An architect in the MLflow and vector-database namespaces: workloads and configuration, not isolation nor Secrets."""

CLUSTER_READ = (
    Grant(("",), ("nodes", "namespaces", "persistentvolumes"), READ),
    Grant(("storage.k8s.io",), ("storageclasses", "csidrivers"), READ),
    Grant(("scheduling.k8s.io",), ("priorityclasses",), READ),
    Grant(("node.k8s.io",), ("runtimeclasses",), READ),
    Grant(("networking.k8s.io",), ("ingressclasses",), READ),
    Grant((RBAC_API_GROUP,), ("clusterroles", "clusterrolebindings"), READ),
    Grant(("apiextensions.k8s.io",), ("customresourcedefinitions",), READ),
    Grant(("admissionregistration.k8s.io",), ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"), READ),
    Grant(("admissionregistration.k8s.io",), ("validatingadmissionpolicies", "validatingadmissionpolicybindings"), READ),
    Grant(("nvidia.com",), ("clusterpolicies", "nvidiadrivers"), READ),
)
"""Cluster-scoped objects architects and reviewers inspect."""

AUDIT = (Grant(("",), ("namespaces", "resourcequotas", "limitranges"), READ),)
"""Auditors, cluster-wide: which sandboxes exist and what capacity they hold."""

REVIEW = (*CLUSTER_READ, *CONFIG_READ)
"""Reviewers, cluster-wide: all configuration, including policies and RBAC; no Secrets, no logs."""


def group_subjects(spec: LabSpec, groups: Sequence[str]) -> list[k8s.rbac.v1.SubjectArgs]:
    """The OIDC groups as Kubernetes sees them: with the provider's ``groups_prefix`` when one is configured."""
    return [
        k8s.rbac.v1.SubjectArgs(kind="Group", name=spec.access.kubernetes_group(group), api_group=RBAC_API_GROUP)
        for group in groups
    ]


def sandbox_operator_subjects(spec: LabSpec) -> list[k8s.rbac.v1.SubjectArgs]:
    """Who acts as sandbox operator (:func:`ailab.spec.naming.sandbox_operator_subjects`), for both its bindings."""
    return [
        k8s.rbac.v1.SubjectArgs(kind=s.kind, name=s.name, api_group=s.api_group, namespace=s.namespace)
        for s in naming.sandbox_operator_subjects(spec)
    ]


@dataclass(frozen=True)
class PersonaRbacArgs:
    spec: LabSpec
    namespaces: Mapping[str, pulumi.Input[str]]
    """Platform namespace name to its name as an Output of the Namespace (for ordering)."""


class PersonaRbac(pulumi.ComponentResource):
    """ClusterRoles for the personas, ClusterRoleBindings for cluster-wide reading, RoleBindings per platform namespace."""

    def __init__(self, name: str, args: PersonaRbacArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:PersonaRbac", name, None, opts)
        self._name, self._spec = name, args.spec
        spec, access = args.spec, args.spec.access
        architects, auditors, reviewers = (
            group_subjects(spec, access.architects),
            group_subjects(spec, access.auditors),
            group_subjects(spec, access.reviewers),
        )
        operate = self._cluster_role("architect-operate", OPERATE)
        observe = self._cluster_role("architect-observe", OBSERVE)
        self._cluster_wide("architect-cluster-read", CLUSTER_READ, architects)
        self._cluster_wide("auditor", AUDIT, auditors)
        self._cluster_wide("reviewer", REVIEW, reviewers)
        for namespace in naming.platform_namespaces(spec):
            # Namespaces run by third-party charts (GPU operator, Traefik) are Pulumi's to change, not people's; the
            # system namespace's reaper holds sandbox-operator rights, which a pod created there could borrow.
            charted = namespace in (naming.gpu_namespace(spec), naming.ingress_namespace(spec), naming.system_namespace(spec))
            role = observe if charted else operate
            k8s.rbac.v1.RoleBinding(
                f"{name}-{namespace}-architects",
                metadata=meta.object_meta(spec, f"{spec.name}-architects", meta.ACCESS_CONTROL, args.namespaces[namespace]),
                role_ref=self._role_ref(role),
                subjects=architects,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({})

    def _cluster_role(self, persona_role: str, grants: Sequence[Grant]) -> k8s.rbac.v1.ClusterRole:
        return k8s.rbac.v1.ClusterRole(
            f"{self._name}-{persona_role}",
            metadata=meta.object_meta(self._spec, f"{self._spec.name}-{persona_role}", meta.ACCESS_CONTROL),
            rules=[grant.rule() for grant in grants],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cluster_wide(self, persona_role: str, grants: Sequence[Grant], subjects: list[k8s.rbac.v1.SubjectArgs]) -> None:
        """A ClusterRole bound cluster-wide, which may only ever read (and never Secrets)."""
        if any(set(grant.verbs) - set(READ) or "secrets" in grant.resources for grant in grants):
            raise ValueError(f"{persona_role}: a cluster-wide role may only read, and never Secrets")
        role = self._cluster_role(persona_role, grants)
        k8s.rbac.v1.ClusterRoleBinding(
            f"{self._name}-{persona_role}",
            metadata=meta.object_meta(self._spec, f"{self._spec.name}-{persona_role}", meta.ACCESS_CONTROL),
            role_ref=self._role_ref(role),
            subjects=subjects,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _role_ref(role: k8s.rbac.v1.ClusterRole) -> k8s.rbac.v1.RoleRefArgs:
        return k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API_GROUP, kind="ClusterRole", name=meta.name_of(role))
