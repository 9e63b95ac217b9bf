"""The sandbox operator: who may run ``ailab sandbox create/destroy/reap`` without being cluster-admin.

Three parts, because RBAC alone cannot say "namespaces named ``audit-*``":

* **Cluster-wide** (:data:`CLUSTER_GRANTS`, a ClusterRoleBinding): Namespaces, and creating one
  RoleBinding per sandbox, with ``bind`` limited by ``resourceNames`` to :data:`IN_SANDBOX_GRANTS`'s
  ClusterRole. Nothing here reads Secrets or pods.
* **Inside each sandbox** (:data:`IN_SANDBOX_GRANTS`): the kinds the sandbox program creates, and
  everything its team Role grants (RBAC lets a subject create a Role only with permissions it holds).
  The sandbox program binds this ClusterRole in its own namespace, first thing after creating it
  (``ailab.sandbox.component``), so the operator holds it in ``audit-*`` namespaces only.
* **Admission** (a ValidatingAdmissionPolicy, GA since Kubernetes 1.30): every write by an operator
  (its groups, or the reaper's ServiceAccount) must be in an ``audit-*`` namespace; a Namespace it
  creates must carry the audit id of its name; a RoleBinding it writes must bind the sandbox's own
  Role or the in-sandbox ClusterRole. Without it, the cluster-wide grants would let an operator
  create any namespace, or bind the in-sandbox role to itself in the MLflow namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.infra.k8s.rbac import MANAGE, RBAC_API_GROUP, READ, Grant, sandbox_operator_subjects
from ailab.spec import labels, naming
from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX
from ailab.spec.model import LabSpec


def cluster_grants(spec: LabSpec) -> tuple[Grant, ...]:
    """Bound cluster-wide; every write is held to ``audit-*`` by the admission policy."""
    return (
        Grant(("",), ("namespaces",), MANAGE),
        # The per-sandbox binding of the in-sandbox role: created before the operator holds anything in the namespace.
        Grant((RBAC_API_GROUP,), ("rolebindings",), ("get", "create", "patch")),
        Grant((RBAC_API_GROUP,), ("clusterroles",), ("bind",), (naming.sandbox_operator_namespaced_role(spec),)),
    )


IN_SANDBOX_GRANTS = (
    Grant(("",), ("resourcequotas", "limitranges", "serviceaccounts", "secrets", "configmaps"), MANAGE),
    Grant(("",), ("persistentvolumeclaims", "services", "pods"), MANAGE),
    Grant(("",), ("events",), READ),
    # Held so that the operator may create the team's Role, which grants them (RBAC's escalation check).
    Grant(("",), ("pods/log",), ("get",)),
    Grant(("",), ("pods/exec", "pods/portforward"), ("get", "create")),
    Grant(("apps",), ("deployments", "statefulsets", "replicasets"), MANAGE),
    Grant(("apps",), ("deployments/scale",), ("get", "update", "patch")),
    Grant(("batch",), ("jobs", "cronjobs"), MANAGE),
    Grant(("networking.k8s.io",), ("networkpolicies",), MANAGE),
    Grant((RBAC_API_GROUP,), ("roles", "rolebindings"), MANAGE),
)
"""Bound in each sandbox's namespace only, by the sandbox itself."""


NOT_REVIEWS = "!(request.resource.group in ['authorization.k8s.io', 'authentication.k8s.io'])"


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def operator_condition(spec: LabSpec) -> str:
    """CEL: the request comes from a sandbox operator (one of its groups, or the reaper's ServiceAccount)."""
    condition = f"request.userInfo.groups.exists(g, g in [{_quoted(naming.sandbox_operator_groups(spec))}])"
    reaper = naming.reaper_service_account(spec)
    if reaper is not None:
        condition = f"request.userInfo.username == '{reaper}' || ({condition})"
    return condition


def scope_validations(spec: LabSpec) -> list[tuple[str, str]]:
    """CEL validations (expression, message) every write of an operator must pass."""
    prefix = SANDBOX_NAMESPACE_PREFIX
    # A Namespace's own admission request carries its name as request.namespace; name it anyway, for clarity.
    in_sandbox = (
        f"request.namespace.startsWith('{prefix}') || "
        f"(request.resource.resource == 'namespaces' && request.name.startsWith('{prefix}'))"
    )
    labelled = (
        f"request.resource.resource != 'namespaces' || request.operation != 'CREATE' || "
        f"(has(object.metadata.labels) && '{labels.AUDIT_ID}' in object.metadata.labels && "
        f"'{prefix}' + object.metadata.labels['{labels.AUDIT_ID}'] == object.metadata.name)"
    )
    bindable = (
        f"request.resource.resource != 'rolebindings' || request.operation == 'DELETE' || "
        f"(object.roleRef.kind == 'Role' && object.roleRef.name == '{naming.SANDBOX_TEAM_ROLE}') || "
        f"(object.roleRef.kind == 'ClusterRole' && object.roleRef.name == '{naming.sandbox_operator_namespaced_role(spec)}')"
    )
    return [
        (in_sandbox, f"sandbox operators change only {prefix}* namespaces and what is in them"),
        (labelled, f"a sandbox namespace must carry the label {labels.AUDIT_ID} with the audit id of its name"),
        (
            bindable,
            f"sandbox operators bind only the sandbox's {naming.SANDBOX_TEAM_ROLE} Role or the "
            f"{naming.sandbox_operator_namespaced_role(spec)} ClusterRole",
        ),
    ]


@dataclass(frozen=True)
class SandboxOperatorArgs:
    spec: LabSpec


class SandboxOperator(pulumi.ComponentResource):
    """The operator's two ClusterRoles, its cluster-wide binding and the admission policy that holds it to sandboxes."""

    ready: list[pulumi.Resource]
    """What must exist before anyone acts as operator: the roles, the binding and the admission policy."""

    def __init__(self, name: str, args: SandboxOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:SandboxOperator", name, None, opts)
        spec = args.spec
        child = pulumi.ResourceOptions(parent=self)
        in_sandbox = k8s.rbac.v1.ClusterRole(
            f"{name}-in-sandbox",
            metadata=meta.object_meta(spec, naming.sandbox_operator_namespaced_role(spec), meta.ACCESS_CONTROL),
            rules=[grant.rule() for grant in IN_SANDBOX_GRANTS],
            opts=child,
        )
        cluster_role = k8s.rbac.v1.ClusterRole(
            name,
            metadata=meta.object_meta(spec, naming.sandbox_operator_role(spec), meta.ACCESS_CONTROL),
            rules=[grant.rule() for grant in cluster_grants(spec)],
            opts=child,
        )
        policy_name = f"{spec.name}-sandbox-operator-scope"
        policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-scope",
            metadata=meta.object_meta(spec, policy_name, meta.ACCESS_CONTROL),
            spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
                failure_policy="Fail",
                match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(
                    resource_rules=[
                        k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                            api_groups=["*"],
                            api_versions=["*"],
                            operations=["CREATE", "UPDATE", "DELETE", "CONNECT"],
                            # '*/*': every resource and subresource (pods/exec is a CONNECT on one).
                            resources=["*", "*/*"],
                        )
                    ]
                ),
                match_conditions=[
                    k8s.admissionregistration.v1.MatchConditionArgs(
                        name="sandbox-operators", expression=operator_condition(spec)
                    ),
                    # Access reviews (kubectl auth can-i, whoami) are questions about rights, not changes.
                    k8s.admissionregistration.v1.MatchConditionArgs(name="not-access-reviews", expression=NOT_REVIEWS),
                ],
                validations=[
                    k8s.admissionregistration.v1.ValidationArgs(expression=expression, message=message)
                    for expression, message in scope_validations(spec)
                ],
            ),
            opts=child,
        )
        binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-scope",
            metadata=meta.object_meta(spec, policy_name, meta.ACCESS_CONTROL),
            spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
                policy_name=meta.name_of(policy), validation_actions=["Deny"]
            ),
            opts=child,
        )
        # Bound only once the admission policy holds: never a moment with the grants unconfined.
        cluster_binding = k8s.rbac.v1.ClusterRoleBinding(
            name,
            metadata=meta.object_meta(spec, naming.sandbox_operator_role(spec), meta.ACCESS_CONTROL),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API_GROUP, kind="ClusterRole", name=meta.name_of(cluster_role)),
            subjects=sandbox_operator_subjects(spec),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, binding, in_sandbox]),
        )
        self.ready = [in_sandbox, cluster_role, policy, binding, cluster_binding]
        self.register_outputs({})
