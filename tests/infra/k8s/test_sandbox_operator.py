"""The sandbox operator's rights are enough for what a sandbox plan creates, and confined to ``audit-*``.

The sufficiency tests plan a real sandbox of each example lab (``ailab.sandbox.program.plan_sandbox``)
and check every object it creates, and every rule of its team Role, against the operator's rules as
Kubernetes' authorizer and RBAC escalation check would: a sandbox object added later without a grant
fails here, before a real create fails with ``forbidden``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from tests.sandbox.helpers import make_spec

from ailab.infra.k8s.rbac import MANAGE, READ
from ailab.infra.k8s.sandbox_operator import operator_condition, scope_validations
from ailab.plan.graph import Plan
from ailab.sandbox.program import plan_sandbox
from ailab.spec import naming

CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
POLICY_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_SCOPED = {"Namespace"}
PULUMI_VERBS = set(MANAGE)
"""What the Kubernetes provider does to an object it manages: server-side apply (create + patch), read, refresh, delete."""
AWAITED = {"Deployment": [("", "pods"), ("apps", "replicasets"), ("", "events")]}
"""What the provider watches while it waits for a kind to become ready."""


def allows(rules: Iterable[Mapping[str, Any]], group: str, resource: str, verb: str, name: str | None = None) -> bool:
    """Whether ``rules`` grant ``verb`` on ``resource`` (and, when given, the object ``name``), as RBAC reads a rule."""
    for rule in rules:
        names = rule.get("resourceNames") or []
        if (
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and (not names or (name is not None and name in names))
        ):
            return True
    return False


def plural(kind: str) -> str:
    lower = kind.lower()
    return f"{lower[:-1]}ies" if lower.endswith("y") else f"{lower}s"


def kubernetes_objects(plan: Plan) -> list[tuple[str, str, dict[str, Any]]]:
    """``(api group, kind, inputs)`` of every Kubernetes object of the plan."""
    found = []
    for resource in plan.custom_resources():
        if resource.type.startswith("kubernetes:"):
            group_version, kind = resource.type.removeprefix("kubernetes:").split(":")
            group = group_version.rsplit("/", 1)[0]
            found.append(("" if group == "core" else group, kind, resource.inputs))
    return found


@pytest.fixture(scope="module")
def sandbox_plan(lab) -> Plan:
    return plan_sandbox(make_spec(lab.spec, stack="aws-eu" if lab.spec.target == "aws" else "onprem"), lab.spec)


def rules(lab, role_name: str) -> list[dict[str, Any]]:
    return lab.one(CLUSTER_ROLE, role_name)["rules"]


def test_the_operator_may_do_what_the_sandbox_program_does(lab, sandbox_plan):
    cluster, inside = (
        rules(lab, naming.sandbox_operator_role(lab.spec)),
        rules(lab, naming.sandbox_operator_namespaced_role(lab.spec)),
    )
    objects = kubernetes_objects(sandbox_plan)
    assert {kind for _, kind, _ in objects} >= {"Namespace", "ResourceQuota", "NetworkPolicy", "Role", "RoleBinding", "Secret"}
    for group, kind, inputs in objects:
        held = cluster if kind in CLUSTER_SCOPED else inside
        if inputs["metadata"]["name"] == "sandbox-operator":
            # The binding that grants the rest: created with the cluster-wide grant, never deleted by Pulumi.
            held, needed = cluster, {"get", "create", "patch"}
        else:
            needed = PULUMI_VERBS
        for verb in needed:
            assert allows(held, group, plural(kind), verb), f"{verb} {group}/{plural(kind)}"
        for awaited_group, awaited in AWAITED.get(kind, []):
            for verb in READ:
                assert allows(inside, awaited_group, awaited, verb), f"{verb} {awaited_group}/{awaited} (awaiting a {kind})"


def test_the_operator_may_grant_the_team_role_and_bind_both_roles(lab, sandbox_plan):
    """RBAC lets a subject create a Role only with rights it holds, and bind a role it holds or may ``bind``."""
    cluster, inside = (
        rules(lab, naming.sandbox_operator_role(lab.spec)),
        rules(lab, naming.sandbox_operator_namespaced_role(lab.spec)),
    )
    (team,) = sandbox_plan.of_type(ROLE)
    assert team.inputs["metadata"]["name"] == naming.SANDBOX_TEAM_ROLE
    for rule in team.inputs["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    for name in rule.get("resourceNames") or [None]:
                        assert allows(inside, group, resource, verb, name), f"team Role: {verb} {group}/{resource} {name}"
    bindings = {b.inputs["metadata"]["name"]: b.inputs for b in sandbox_plan.of_type(ROLE_BINDING)}
    operator = bindings.pop("sandbox-operator")
    assert operator["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": naming.sandbox_operator_namespaced_role(lab.spec),
    }
    assert allows(cluster, "rbac.authorization.k8s.io", "clusterroles", "bind", operator["roleRef"]["name"])
    assert operator["subjects"] == lab.one(CLUSTER_BINDING, naming.sandbox_operator_role(lab.spec))["subjects"]
    (team_binding,) = bindings.values()
    assert team_binding["roleRef"]["name"] == naming.SANDBOX_TEAM_ROLE


def test_the_operators_binding_comes_first_and_outlives_the_objects_it_allows(sandbox_plan):
    (binding,) = [b for b in sandbox_plan.of_type(ROLE_BINDING) if b.inputs["metadata"]["name"] == "sandbox-operator"]
    assert binding.options.get("retainOnDelete") is True
    for resource in sandbox_plan.custom_resources():
        namespaced = resource.type.startswith("kubernetes:") and resource.inputs.get("metadata", {}).get("namespace")
        if namespaced and resource.urn != binding.urn:
            assert binding.urn in resource.dependencies, resource.name


def test_cluster_wide_grants_read_no_secrets_nor_pods(lab):
    for rule in rules(lab, naming.sandbox_operator_role(lab.spec)):
        assert not {"secrets", "pods", "pods/log", "pods/exec", "configmaps"} & set(rule["resources"])
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        if "bind" in rule["verbs"]:
            assert rule["resourceNames"] == [naming.sandbox_operator_namespaced_role(lab.spec)]
    assert not any(
        "escalate" in rule["verbs"] or "impersonate" in rule["verbs"]
        for rule in rules(lab, naming.sandbox_operator_namespaced_role(lab.spec))
    )


def test_only_the_cluster_part_is_bound_cluster_wide_to_the_operator_groups_and_the_reaper(lab):
    binding = lab.one(CLUSTER_BINDING, naming.sandbox_operator_role(lab.spec))
    assert binding["roleRef"]["name"] == naming.sandbox_operator_role(lab.spec)
    subjects = binding["subjects"]
    prefix = lab.spec.access.oidc.groups_prefix if lab.spec.access.oidc else ""
    assert {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "ailab:sandbox-operators"} in subjects
    assert {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": f"{prefix}ailab-sandbox-operators"} in subjects
    assert {"kind": "ServiceAccount", "name": "ailab-reaper", "namespace": "ailab-system"} in subjects
    in_sandbox = naming.sandbox_operator_namespaced_role(lab.spec)
    assert all(b["roleRef"]["name"] != in_sandbox for b in lab.of_type(CLUSTER_BINDING) + lab.of_type(ROLE_BINDING))
    assert all(b["roleRef"]["name"] != "cluster-admin" for b in lab.of_type(CLUSTER_BINDING))


def test_an_admission_policy_holds_operators_to_sandbox_namespaces(lab):
    name = f"{lab.spec.name}-sandbox-operator-scope"
    policy = lab.one(POLICY, name)["spec"]
    assert policy["failurePolicy"] == "Fail"
    (rule,) = policy["matchConstraints"]["resourceRules"]
    assert set(rule["operations"]) == {"CREATE", "UPDATE", "DELETE", "CONNECT"} and "*/*" in rule["resources"]
    condition, reviews = policy["matchConditions"]
    assert "'authorization.k8s.io'" in reviews["expression"] and reviews["expression"].startswith("!")
    assert condition["expression"] == operator_condition(lab.spec)
    assert "'ailab:sandbox-operators'" in condition["expression"]
    assert "system:serviceaccount:ailab-system:ailab-reaper" in condition["expression"]
    expressions = [v["expression"] for v in policy["validations"]]
    assert expressions == [expression for expression, _ in scope_validations(lab.spec)]
    assert "request.namespace.startsWith('audit-')" in expressions[0]
    assert "ailab.eu/audit-id" in expressions[1]
    assert f"'{naming.sandbox_operator_namespaced_role(lab.spec)}'" in expressions[2] and "'audit-team'" in expressions[2]
    binding = lab.one(POLICY_BINDING, name)["spec"]
    assert binding == {"policyName": name, "validationActions": ["Deny"]}
    # The grants are bound only after the policy that confines them.
    (cluster_binding,) = [
        r for r in lab.plan.of_type(CLUSTER_BINDING) if r.inputs["metadata"]["name"] == naming.sandbox_operator_role(lab.spec)
    ]
    by_name = {r.inputs["metadata"]["name"]: r.urn for r in lab.plan.of_type(POLICY) + lab.plan.of_type(POLICY_BINDING)}
    assert by_name[name] in cluster_binding.dependencies
