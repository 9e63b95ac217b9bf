"""Least privilege in Kubernetes RBAC (and the EKS access entries that feed it): no wildcards, no
cluster-admin, no impersonate nor bind/escalate beyond named roles, no cluster-wide secret reads, no system:masters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.tokens import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CONFIG_MAP,
    EKS_ACCESS_ENTRY,
    EKS_ACCESS_POLICY_ASSOCIATION,
    EKS_CLUSTER,
    ROLE,
    ROLE_BINDING,
)
from ailab.policy.rules.helpers.values import ev, hides, is_unknown, known_and_not, mapping, strings

_ACCESS = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_ACCESS_CONTROL, c.ISO_PRIVILEGED_ACCESS]
_ROLES = [ROLE, CLUSTER_ROLE]
_BINDINGS = [ROLE_BINDING, CLUSTER_ROLE_BINDING]


def _rules(record: Record) -> list[tuple[int, Mapping[str, Any]]]:
    rules = record.properties.get("rules")
    return [(i, rule) for i, rule in enumerate(rules) if isinstance(rule, Mapping)] if isinstance(rules, list) else []


@resource_rule(
    id="AILAB-RBAC-001",
    title="Roles grant no wildcard verbs, resources or API groups",
    severity="high",
    rationale=(
        "A '*' grants everything that exists and everything added later (new CRDs, subresources such as exec); "
        "auditor and reviewer roles must name exactly what they may touch."
    ),
    remediation="Replace '*' in rules[].verbs, rules[].resources and rules[].apiGroups with the explicit list needed.",
    types=_ROLES,
    controls=[*_ACCESS, c.CIS_K8S_WILDCARDS, c.CIS_EKS_WILDCARDS, c.NSA_RBAC],
)
def rbac_wildcards(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for index, rule in _rules(record):
        for field in ("verbs", "resources", "apiGroups"):
            values = rule.get(field)
            if "*" in strings(values):
                yield Violation(f"{record.name}: rules[{index}].{field} contains '*'", (ev(f"rules[{index}].{field}", values),))


_NAMEABLE_VERBS = ("bind", "escalate")
"""Kubernetes checks these against the role being bound or edited, so ``resourceNames`` limits them to named roles."""
_ALWAYS_ESCALATING = ("impersonate",)
"""Limited by name it still lets the subject act as the users or groups named, so it is never accepted."""


def _names_roles(rule: Mapping[str, Any]) -> bool | None:
    """Whether the rule's ``resourceNames`` limits it to roles of the lab's own; None when a placeholder hides them.

    Binding a built-in such as cluster-admin or a ``system:`` role by name is no limit at all.
    """
    names = rule.get("resourceNames")
    if hides(names):
        return None
    named = [name for name in strings(names) if name]
    return bool(named) and not any(name in _BUILTIN_SECRET_READERS or name.startswith("system:") for name in named)


@resource_rule(
    id="AILAB-RBAC-002",
    title="Roles grant no impersonate, nor bind or escalate beyond named roles",
    severity="high",
    rationale=(
        "bind and escalate on any role let a subject grant itself any role; impersonate lets it act as any user or "
        "group, including cluster administrators, so each is a path to every sandbox's data. Kubernetes checks bind "
        "and escalate against the role bound or edited, so limited by resourceNames they reach only the roles named "
        "(Kubernetes RBAC documentation, 'Restrictions on role binding creation or update')."
    ),
    remediation=(
        "Remove impersonate from the role; limit bind and escalate with resourceNames to the lab's own roles the "
        "persona may bind (never cluster-admin, admin, edit or a system: role), or grant the roles it needs instead."
    ),
    types=_ROLES,
    controls=[*_ACCESS, c.CIS_K8S_BIND_ESCALATE, c.CIS_EKS_BIND_ESCALATE, c.NSA_RBAC],
)
def rbac_escalation_verbs(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for index, rule in _rules(record):
        verbs = strings(rule.get("verbs"))
        named = _names_roles(rule)
        # Where a placeholder hides resourceNames, which roles bind and escalate reach is not judged.
        judged = (*_NAMEABLE_VERBS, *_ALWAYS_ESCALATING) if named is False else _ALWAYS_ESCALATING
        granted = [verb for verb in judged if verb in verbs]
        if granted:
            limited = " (resourceNames does not make impersonate safe)" if named else ""
            yield Violation(
                f"{record.name}: rules[{index}] grants {', '.join(granted)}{limited}",
                (ev(f"rules[{index}].verbs", rule.get("verbs")),),
            )


_EKS_CLUSTER_ADMIN = "/AmazonEKSClusterAdminPolicy"


@resource_rule(
    id="AILAB-RBAC-003",
    title="Nothing is bound to cluster-admin",
    severity="high",
    rationale=(
        "cluster-admin can read every Secret and every sandbox; the architect persona gets scoped roles, and "
        "break-glass access is granted for the occasion, not standing in the stack."
    ),
    remediation=(
        "Bind the persona's group to a least-privilege ClusterRole or namespaced Role instead of cluster-admin "
        "(for EKS access entries, instead of AmazonEKSClusterAdminPolicy); set access_config "
        "bootstrap_cluster_creator_admin_permissions=False and grant the deploying role an explicit access entry, "
        "waived with its justification if it must be cluster-admin."
    ),
    types=[*_BINDINGS, EKS_ACCESS_POLICY_ASSOCIATION, EKS_CLUSTER],
    controls=[*_ACCESS, c.CIS_K8S_CLUSTER_ADMIN, c.CIS_EKS_CLUSTER_ADMIN, c.NSA_RBAC],
)
def rbac_no_cluster_admin(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.type == EKS_CLUSTER:
        # EKS grants whoever creates the cluster a standing, invisible cluster-admin unless told not to (default true).
        path = "accessConfig.bootstrapClusterCreatorAdminPermissions"
        value = mapping(record.properties.get("accessConfig")).get("bootstrapClusterCreatorAdminPermissions", MISSING)
        if known_and_not(value, False):
            yield Violation(
                f"EKS cluster {record.name} gives its creator a permanent cluster-admin access entry", (ev(path, value),)
            )
        return
    if record.type == EKS_ACCESS_POLICY_ASSOCIATION:
        arn = record.properties.get("policyArn")
        if isinstance(arn, str) and arn.endswith(_EKS_CLUSTER_ADMIN):
            yield Violation(f"{record.name} grants the EKS cluster-admin access policy", (ev("policyArn", arn),))
        return
    role_ref = mapping(record.properties.get("roleRef"))
    if role_ref.get("name") == "cluster-admin" and role_ref.get("kind", "ClusterRole") == "ClusterRole":
        yield Violation(f"{record.name} binds cluster-admin", (ev("roleRef.name", "cluster-admin"),))


_SECRET_READ_VERBS = frozenset({"get", "list", "watch", "*"})
# Built-in ClusterRoles that can read Secrets (they are not in a stack, but bindings name them).
_BUILTIN_SECRET_READERS = frozenset({"cluster-admin", "admin", "edit"})


def _reads_secrets(role: Record) -> tuple[int, Mapping[str, Any]] | None:
    """The first rule of a role that lets it get, list or watch Secrets, if any."""
    for index, rule in _rules(role):
        groups, resources, verbs = strings(rule.get("apiGroups")), strings(rule.get("resources")), strings(rule.get("verbs"))
        if (
            ("" in groups or "*" in groups)
            and ("secrets" in resources or "*" in resources)
            and _SECRET_READ_VERBS.intersection(verbs)
        ):
            return index, rule
    return None


@stack_rule(
    id="AILAB-RBAC-004",
    title="No subject reads Secrets cluster-wide",
    severity="high",
    rationale=(
        "A ClusterRoleBinding to a role that reads Secrets hands its subjects every credential of every namespace: "
        "the MLflow admin password, the Qdrant key, each sandbox's tokens."
    ),
    remediation=(
        "Grant Secret access with a RoleBinding in the one namespace that needs it (and resourceNames where "
        "possible); never bind such a ClusterRole with a ClusterRoleBinding."
    ),
    types=[CLUSTER_ROLE, CLUSTER_ROLE_BINDING],
    controls=[*_ACCESS, c.CIS_K8S_SECRETS, c.CIS_EKS_SECRETS, c.NSA_SECRETS, c.NSA_RBAC],
)
def rbac_cluster_wide_secret_reads(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    readers: dict[str, str] = {name: "built-in" for name in _BUILTIN_SECRET_READERS}
    for role in records.of_type(CLUSTER_ROLE):
        name = role.get("metadata.name")
        found = _reads_secrets(role)
        if isinstance(name, str) and found is not None:
            readers[name] = f"rules[{found[0]}]"
    for binding in records.of_type(CLUSTER_ROLE_BINDING):
        role_ref = mapping(binding.properties.get("roleRef"))
        name = role_ref.get("name")
        if (
            isinstance(name, str)
            and not is_unknown(name)
            and role_ref.get("kind", "ClusterRole") == "ClusterRole"
            and name in readers
        ):
            yield Violation(
                f"{binding.name} grants ClusterRole {name} ({readers[name]} reads Secrets) in every namespace",
                (ev("roleRef.name", name),),
                binding,
            )


_MASTERS = "system:masters"


@resource_rule(
    id="AILAB-RBAC-005",
    title="No one is placed in system:masters",
    severity="critical",
    rationale=(
        "Members of system:masters bypass RBAC and admission webhooks entirely and cannot be limited or revoked "
        "by removing a binding."
    ),
    remediation=(
        "Remove system:masters from EKS access entries (kubernetes_groups), the aws-auth ConfigMap and role binding "
        "subjects; use a named group bound to a scoped role."
    ),
    types=[*_BINDINGS, EKS_ACCESS_ENTRY, CONFIG_MAP],
    controls=[*_ACCESS, c.CIS_K8S_SYSTEM_MASTERS, c.NSA_RBAC],
)
def rbac_no_system_masters(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.type == EKS_ACCESS_ENTRY:
        groups = record.properties.get("kubernetesGroups")
        if _MASTERS in strings(groups):
            yield Violation(f"Access entry {record.name} maps to {_MASTERS}", (ev("kubernetesGroups", groups),))
    elif record.type == CONFIG_MAP:
        if record.get("metadata.name") != "aws-auth":
            return
        for key in ("mapRoles", "mapUsers", "mapAccounts"):
            text = record.get(f"data.{key}")
            if isinstance(text, str) and _MASTERS in text:
                yield Violation(f"aws-auth maps IAM principals to {_MASTERS}", (ev(f"data.{key}", _MASTERS),))
    else:
        subjects = record.properties.get("subjects")
        for index, subject in enumerate(subjects if isinstance(subjects, list) else ()):
            if mapping(subject).get("name") == _MASTERS:
                yield Violation(f"{record.name} names {_MASTERS} as a subject", (ev(f"subjects[{index}].name", _MASTERS),))
