"""Persona RBAC: least privilege, bound to the OIDC groups (with their prefix), nothing dangerous."""

from __future__ import annotations

from ailab.infra.k8s import rbac
from ailab.spec import naming

CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
FORBIDDEN_VERBS = {"*", "bind", "escalate", "impersonate"}
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


def rules_of(lab, role_name):
    return lab.one(CLUSTER_ROLE, role_name)["rules"]


def operator_roles(lab):
    """The sandbox operator's roles, which tests/infra/k8s/test_sandbox_operator.py covers."""
    return {naming.sandbox_operator_role(lab.spec), naming.sandbox_operator_namespaced_role(lab.spec)}


def persona_roles(lab):
    return [role for role in lab.of_type(CLUSTER_ROLE) if role["metadata"]["name"] not in operator_roles(lab)]


def test_no_wildcards_or_dangerous_verbs(lab):
    for role in persona_roles(lab):
        for rule in role["rules"]:
            assert "*" not in rule["apiGroups"] and "*" not in rule["resources"]
            assert not FORBIDDEN_VERBS & set(rule["verbs"])
            assert "secrets" not in rule["resources"]
            assert not {"pods/exec", "pods/attach", "serviceaccounts/token", "nodes/proxy"} & set(rule["resources"])


def test_no_binding_to_cluster_admin_or_builtin_roles(lab):
    ours = {role["metadata"]["name"] for role in lab.of_type(CLUSTER_ROLE)}
    for binding in lab.of_type(CLUSTER_BINDING) + lab.of_type(ROLE_BINDING):
        assert binding["roleRef"]["name"] in ours
        assert binding["roleRef"]["name"] not in {"cluster-admin", "admin", "edit"}


def test_cluster_wide_bindings_only_read(lab):
    roles = {role["metadata"]["name"]: role["rules"] for role in lab.of_type(CLUSTER_ROLE)}
    for binding in lab.of_type(CLUSTER_BINDING):
        if binding["roleRef"]["name"] in operator_roles(lab):
            continue
        for rule in roles[binding["roleRef"]["name"]]:
            assert set(rule["verbs"]) <= set(rbac.READ), binding["metadata"]["name"]


def test_subjects_are_the_personas_groups_with_the_oidc_prefix(aws, onprem):
    prefix = aws.spec.access.oidc.groups_prefix
    assert prefix == "oidc:"
    for lab, expected_prefix in ((aws, prefix), (onprem, "")):
        access = lab.spec.access
        expected = {
            "ailab-architect-cluster-read": access.architects,
            "ailab-auditor": access.auditors,
            "ailab-reviewer": access.reviewers,
        }
        for name, groups in expected.items():
            binding = lab.one(CLUSTER_BINDING, name)
            assert binding["subjects"] == [
                {"kind": "Group", "name": f"{expected_prefix}{group}", "apiGroup": "rbac.authorization.k8s.io"}
                for group in groups
            ]


def test_architects_operate_service_namespaces_and_only_observe_the_gpu_namespace(lab):
    bindings = {b["metadata"]["namespace"]: b for b in lab.of_type(ROLE_BINDING)}
    assert set(bindings) == set(naming.platform_namespaces(lab.spec))
    assert bindings[naming.gpu_namespace(lab.spec)]["roleRef"]["name"] == "ailab-architect-observe"
    for namespace in (naming.mlflow_namespace(lab.spec), naming.vector_db_namespace(lab.spec)):
        assert bindings[namespace]["roleRef"]["name"] == "ailab-architect-operate"
    for rule in rules_of(lab, "ailab-architect-observe"):
        assert not WRITE_VERBS & set(rule["verbs"])


def test_architects_cannot_change_isolation(lab):
    for rule in rules_of(lab, "ailab-architect-operate"):
        if WRITE_VERBS & set(rule["verbs"]):
            assert not {"networkpolicies", "roles", "rolebindings", "resourcequotas", "limitranges"} & set(rule["resources"])


def test_auditors_list_namespaces_and_quotas_only(lab):
    (rule,) = rules_of(lab, "ailab-auditor")
    assert rule["apiGroups"] == [""] and set(rule["resources"]) == {"namespaces", "resourcequotas", "limitranges"}


def test_reviewers_see_policies_rbac_and_quotas_but_no_logs(lab):
    readable = {resource for rule in rules_of(lab, "ailab-reviewer") for resource in rule["resources"]}
    assert {"networkpolicies", "roles", "rolebindings", "clusterroles", "clusterrolebindings", "resourcequotas"} <= readable
    assert "pods/log" not in readable and "secrets" not in readable
