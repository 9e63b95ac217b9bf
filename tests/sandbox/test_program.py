"""The sandbox program under the Pulumi SDK's mocks: every resource and the properties that make it a sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from tests.sandbox.helpers import EXAMPLE_STACKS, REPO, lab, make_spec, only, plan_on_lab_outputs

from ailab.infra.k8s.meta import CONFIG_CHECKSUM
from ailab.plan.graph import Plan
from ailab.plan.runner import run_program
from ailab.sandbox import manifests
from ailab.sandbox.gate import check
from ailab.sandbox.program import (
    OFFLINE_SECRET,
    SANDBOX_PROJECT,
    LabConnection,
    connection_from_spec,
    lab_stack_reference_name,
    plan_sandbox,
    sandbox_program,
)
from ailab.spec import labels
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import SECRET_PLACEHOLDER

NS = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
SA = "kubernetes:core/v1:ServiceAccount"
SECRET = "kubernetes:core/v1:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
EXPERIMENT = "pulumi-python:dynamic/ailab:AuditExperiment"
COLLECTION = "pulumi-python:dynamic/ailab:AuditCollection"
COMPONENT = "ailab:sandbox:AuditSandbox"


def test_every_resource_of_a_sandbox(mig_plan: Plan) -> None:
    assert mig_plan.project == SANDBOX_PROJECT
    assert mig_plan.stack == "2025-017-chatbot"
    assert dict(mig_plan.count_by_type()) == {
        COMPONENT: 1,
        "pulumi:providers:kubernetes": 1,
        NS: 1,
        QUOTA: 1,
        LIMITS: 1,
        NETPOL: 5,
        ROLE: 1,
        BINDING: 2,  # the team's, and the sandbox operators' (tests/infra/k8s/test_sandbox_operator.py)
        SA: 1,
        SECRET: 1,
        DEPLOYMENT: 1,
        EXPERIMENT: 1,
        COLLECTION: 1,
    }


def test_children_of_the_component_on_the_lab_cluster(mig_plan: Plan) -> None:
    component = only(mig_plan, COMPONENT)
    provider = only(mig_plan, "pulumi:providers:kubernetes")
    for resource in mig_plan.resources:
        if resource.type.startswith("kubernetes:"):
            assert resource.parent == component.urn, resource.name
            assert resource.provider is not None and resource.provider.startswith(provider.urn), resource.name
            if resource.type != NS:
                assert resource.inputs["metadata"]["namespace"] == "audit-2025-017-chatbot"
                assert only(mig_plan, NS).urn in resource.dependencies, resource.name


def test_namespace_labels_and_annotations(mig_plan: Plan) -> None:
    metadata = only(mig_plan, NS).inputs["metadata"]
    assert metadata["name"] == "audit-2025-017-chatbot"
    assert metadata["labels"] | labels.psa_restricted() == metadata["labels"]
    assert metadata["labels"][labels.AUDIT_ID] == "2025-017-chatbot"
    assert metadata["labels"][labels.OWNER] == "alice"
    assert metadata["labels"][labels.DATA_CLASSIFICATION] == "confidential"
    assert metadata["labels"][labels.SANDBOX_PROFILE] == "gpu-mig"
    assert metadata["labels"][labels.GPU_POOL] == "h100"
    annotations = metadata["annotations"]
    assert annotations[labels.EXPIRES_AT] == "2025-03-17T09:30:00Z"
    assert annotations[labels.MAX_EXPIRES_AT] == "2025-03-21T09:30:00Z"
    assert annotations[labels.EXPIRES_AT] <= annotations[labels.MAX_EXPIRES_AT]
    assert annotations[labels.PURPOSE] == "Audit 2025-017-chatbot"
    assert annotations[manifests.TEAM] == "alice,bob@example.europa.eu"


def test_every_object_carries_ownership_labels(mig_plan: Plan) -> None:
    for resource in mig_plan.resources:
        if resource.type.startswith("kubernetes:"):
            object_labels = resource.inputs["metadata"]["labels"]
            for key in (labels.AUDIT_ID, labels.OWNER, labels.DATA_CLASSIFICATION):
                assert key in object_labels, (resource.name, key)


def test_quota_with_the_mig_resource_and_zero_for_other_gpus(mig_plan: Plan) -> None:
    hard = only(mig_plan, QUOTA).inputs["spec"]["hard"]
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "1"
    assert hard["requests.nvidia.com/gpu"] == "0"  # the l4 pool's time-sliced GPUs, and whole H100s
    assert hard["requests.cpu"] == hard["limits.cpu"] == "8"
    assert hard["requests.memory"] == hard["limits.memory"] == "64Gi"
    assert hard["requests.storage"] == "200Gi"
    assert hard["pods"] == "20"
    assert hard["services.loadbalancers"] == hard["services.nodeports"] == "0"


def test_cpu_profile_gets_zero_of_every_gpu_resource(cpu_plan: Plan) -> None:
    hard = only(cpu_plan, QUOTA).inputs["spec"]["hard"]
    gpu_keys = {key: value for key, value in hard.items() if "nvidia.com" in key}
    assert gpu_keys == {"requests.nvidia.com/gpu": "0", "requests.nvidia.com/mig-1g.10gb": "0"}


def test_quota_caps_the_total_of_volume_claims_not_their_number(mig_plan: Plan) -> None:
    assert "persistentvolumeclaims" not in only(mig_plan, QUOTA).inputs["spec"]["hard"]


def test_time_sliced_profile_quota(aws_lab: LabSpec) -> None:
    hard = only(plan_sandbox(make_spec(aws_lab, profile="gpu-shared"), aws_lab), QUOTA).inputs["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "1"
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "0"


def test_onprem_mig_profile(deployed_plans: dict[str, Plan]) -> None:
    plan = deployed_plans["onprem"]
    assert only(plan, QUOTA).inputs["spec"]["hard"]["requests.nvidia.com/mig-3g.40gb"] == "1"
    assert _pod(plan)["containers"][0]["resources"]["limits"]["nvidia.com/mig-3g.40gb"] == "1"


def test_limit_range_from_the_profile(mig_plan: Plan) -> None:
    limits = {item["type"]: item for item in only(mig_plan, LIMITS).inputs["spec"]["limits"]}
    assert limits["Container"]["max"] == {"cpu": "8", "memory": "64Gi"}
    assert limits["Container"]["default"] == limits["Container"]["defaultRequest"] == {"cpu": "2000m", "memory": "16384Mi"}
    assert limits["PersistentVolumeClaim"]["max"] == {"storage": "200Gi"}


def _policies(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(NETPOL)}


def test_default_deny_both_ways(mig_plan: Plan) -> None:
    deny = _policies(mig_plan)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}


def test_every_policy_isolates_both_ways_on_its_own(mig_plan: Plan) -> None:
    """As the platform's policies do: one read alone (or the default deny deleted) still isolates its pods."""
    for name, policy in _policies(mig_plan).items():
        assert policy["policyTypes"] == ["Ingress", "Egress"], name
        if name == "default-deny":
            assert policy["podSelector"] == {}, name
        else:  # every pod but evaluation Jobs', which their own narrower policy fences
            assert policy["podSelector"] == {
                "matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn", "values": ["eval-runner"]}]
            }, name


def test_egress_only_to_dns_own_pods_lab_services_and_allowlist(mig_plan: Plan) -> None:
    policies = _policies(mig_plan)
    assert set(policies) == {"default-deny", "allow-dns", "allow-same-namespace", "allow-lab-services", "allow-egress-allowlist"}
    dns = policies["allow-dns"]["egress"][0]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    services = policies["allow-lab-services"]["egress"]
    destinations = {
        rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: rule["ports"] for rule in services
    }
    assert destinations == {
        "ailab-mlflow": [{"protocol": "TCP", "port": 5000}],
        "ailab-vectordb": [{"protocol": "TCP", "port": 6333}, {"protocol": "TCP", "port": 6334}],
    }
    # only the services' own pods: not PostgreSQL beside MLflow
    assert [rule["to"][0]["podSelector"]["matchLabels"][labels.NAME] for rule in services] == ["mlflow", "qdrant"]
    allowlist = policies["allow-egress-allowlist"]["egress"]
    assert allowlist == [{"to": [{"ipBlock": {"cidr": "10.40.250.10/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}]
    own = policies["allow-same-namespace"]
    assert own["ingress"] == [{"from": [{"podSelector": {}}]}] and own["egress"] == [{"to": [{"podSelector": {}}]}]
    for policy in policies.values():
        for rule in policy.get("egress", []):
            for peer in rule.get("to", []):
                assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0"


def test_no_allowlist_no_policy(aws_lab: LabSpec) -> None:
    bare = aws_lab.model_copy(update={"sandbox": aws_lab.sandbox.model_copy(update={"egress_allowlist": []})})
    assert "allow-egress-allowlist" not in _policies(plan_sandbox(make_spec(bare), bare))


def test_role_is_namespaced_least_privilege(mig_plan: Plan) -> None:
    rules = only(mig_plan, ROLE).inputs["rules"]
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule
        assert not {"roles", "rolebindings", "serviceaccounts", "namespaces", "clusterroles"} & set(rule["resources"])
    secret_rules = [rule for rule in rules if "secrets" in rule["resources"]]
    assert secret_rules == [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["qdrant-token"], "verbs": ["get"]}]
    verbs = {(resource, verb) for rule in rules for resource in rule["resources"] for verb in rule["verbs"]}
    assert ("pods/portforward", "create") in verbs and ("pods/log", "get") in verbs
    assert ("networkpolicies", "create") not in verbs and ("resourcequotas", "update") not in verbs


def test_role_binding_subjects(mig_plan: Plan, cpu_plan: Plan) -> None:
    binding = only(mig_plan, BINDING, "-rolebinding").inputs
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "audit-team"}
    assert [(s["kind"], s["name"]) for s in binding["subjects"]] == [
        # the OIDC provider's prefixes, as the API server sees the team (EKS prefixes users too)
        ("User", "oidc:alice"),
        ("User", "oidc:bob@example.europa.eu"),
        ("Group", "oidc:audit-17"),
    ]
    assert [s["kind"] for s in only(cpu_plan, BINDING, "-rolebinding").inputs["subjects"]] == ["User", "User"]


def test_team_subjects_match_what_eks_makes_of_oidc_identities(mig_plan: Plan) -> None:
    """The sandbox binds the names the lab's EKS identity provider actually produces (prefix + claim)."""
    from ailab.plan.lab import plan_lab
    from ailab.spec.stackfile import find_project

    lab_plan = plan_lab("aws-eu", find_project(REPO))
    oidc = only(lab_plan, "aws:eks/identityProviderConfig:IdentityProviderConfig").inputs["oidc"]
    subjects = {(s["kind"], s["name"]) for s in only(mig_plan, BINDING, "-rolebinding").inputs["subjects"]}
    assert ("User", f"{oidc['usernamePrefix']}alice") in subjects
    assert ("Group", f"{oidc['groupsPrefix']}audit-17") in subjects


def test_without_an_identity_provider_in_the_spec_names_are_bare(deployed_plans: dict[str, Plan]) -> None:
    binding = only(deployed_plans["onprem"], BINDING, "-rolebinding").inputs
    assert all(not subject["name"].startswith("oidc:") for subject in binding["subjects"])
    assert {subject["name"] for subject in binding["subjects"] if subject["kind"] == "User"} == {"alice", "bob@example.europa.eu"}


def test_workload_service_account_without_token(mig_plan: Plan) -> None:
    account = only(mig_plan, SA).inputs
    assert account["metadata"]["name"] == "workload"
    assert account["automountServiceAccountToken"] is False


def _pod(plan: Plan) -> dict[str, Any]:
    return only(plan, DEPLOYMENT).inputs["spec"]["template"]["spec"]


def test_workbench_is_hardened(mig_plan: Plan, aws_lab: LabSpec) -> None:
    pod = _pod(mig_plan)
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "workload"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["runAsNonRoot"] is True and context["runAsUser"] != 0
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert set(mounts) == {"/home/jovyan", "/tmp"}
    assert all("emptyDir" in volumes[name] for name in mounts.values())
    image = container["image"]
    assert image == aws_lab.sandbox.workbench_image and not image.endswith(":latest")
    assert any(image.startswith(registry + "/") for registry in aws_lab.supply_chain.allowed_registries)
    assert container["resources"]["requests"] == container["resources"]["limits"]
    assert container["resources"]["limits"] == {"cpu": "4000m", "memory": "32768Mi", "nvidia.com/mig-1g.10gb": "1"}
    assert {"secretRef": {"name": "qdrant-token"}} in container["envFrom"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_workbench_pod_is_hardened_as_the_platforms_are(stack: str, deployed_plans: dict[str, Plan]) -> None:
    pod = _pod(deployed_plans[stack])
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 100,
        "fsGroup": 100,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["containers"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 100,
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert "nodeSelector" not in pod, "a sandbox's workbench does not run on the shared services' nodes"
    assert container["readinessProbe"]["httpGet"] == {"path": "/api", "port": "http"}
    volumes = {volume["name"]: volume["emptyDir"] for volume in pod["volumes"]}
    assert volumes == {"home": {"sizeLimit": "10Gi"}, "tmp": {"sizeLimit": "2Gi"}}


def test_a_new_qdrant_token_restarts_the_workbench(mig_plan: Plan) -> None:
    """The token reaches the workbench as environment variables, read at start: the template carries its digest."""
    template = only(mig_plan, DEPLOYMENT).inputs["spec"]["template"]["metadata"]
    digest = template["annotations"][CONFIG_CHECKSUM]
    assert len(digest) == 64 and digest != "[secret]"


def test_namespace_enforces_restricted_pod_security(deployed_plans: dict[str, Plan]) -> None:
    for plan in deployed_plans.values():
        ns_labels = only(plan, NS).inputs["metadata"]["labels"]
        for mode in (labels.PSA_ENFORCE, labels.PSA_AUDIT, labels.PSA_WARN):
            assert ns_labels[mode] == "restricted", mode


def test_the_team_gets_its_role_only_once_the_namespace_is_fenced(mig_plan: Plan) -> None:
    binding = only(mig_plan, BINDING, "-rolebinding")
    fence = [only(mig_plan, QUOTA), only(mig_plan, LIMITS), *mig_plan.of_type(NETPOL)]
    assert {r.urn for r in fence} <= set(binding.dependencies)
    assert only(mig_plan, ROLE).urn in binding.dependencies


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_policy_gate_passes_the_deployed_sandbox(stack: str, deployed_plans: dict[str, Plan]) -> None:
    result = check(deployed_plans[stack], lab(stack))
    assert result.passed, result.verdict()
    assert result.report.failed() == [] and result.report.errors() == []


def test_workbench_finds_the_experiment_by_id_never_by_name(mig_plan: Plan) -> None:
    env = {item["name"]: item.get("value") for item in _pod(mig_plan)["containers"][0]["env"]}
    assert "MLFLOW_EXPERIMENT_NAME" not in env, "an MLflow client creates a missing named experiment"
    assert "MLFLOW_EXPERIMENT_ID" in env
    experiment = only(mig_plan, "pulumi-python:dynamic/ailab:AuditExperiment")
    assert experiment.urn in only(mig_plan, DEPLOYMENT).dependencies, "the id is the experiment's output"


def test_workbench_lands_on_its_gpu_pool(mig_plan: Plan) -> None:
    pod = _pod(mig_plan)
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule", "operator": "Equal"}]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": labels.GPU_POOL, "operator": "In", "values": ["h100"]}]}]


def test_cpu_workbench_has_no_gpu_or_toleration(cpu_plan: Plan) -> None:
    pod = _pod(cpu_plan)
    assert "tolerations" not in pod and "affinity" not in pod
    assert not any("nvidia.com" in key for key in pod["containers"][0]["resources"]["limits"])


def test_workbench_waits_for_the_fence(mig_plan: Plan) -> None:
    deployment = only(mig_plan, DEPLOYMENT)
    for type_token in (QUOTA, LIMITS, SA, SECRET):
        assert only(mig_plan, type_token).urn in deployment.dependencies
    assert {r.urn for r in mig_plan.of_type(NETPOL)} <= set(deployment.dependencies)


def test_profile_without_workbench(aws_lab: LabSpec) -> None:
    spec = make_spec(aws_lab)
    spec = spec.model_copy(update={"profile": spec.profile.model_copy(update={"workbench": False})})
    plan = plan_sandbox(spec, aws_lab)
    assert not plan.of_type(DEPLOYMENT)
    assert plan.outputs["workbench"] is None


def test_mlflow_experiment_and_qdrant_collection(mig_plan: Plan) -> None:
    experiment = only(mig_plan, EXPERIMENT).inputs
    assert experiment["experiment_name"] == "audit/2025-017-chatbot"
    assert experiment["members"] == ["alice", "bob@example.europa.eu"]
    # Recorded for the operator's machine, which runs create: the lab's ingress, not the cluster-local Service.
    assert experiment["tracking_url"] == "https://mlflow.ailab.example.europa.eu"
    assert experiment["tags"][labels.DATA_CLASSIFICATION] == "confidential"
    collection = only(mig_plan, COLLECTION).inputs
    assert collection["collection"] == "audit_2025_017_chatbot"
    assert collection["url"] == "https://qdrant.ailab.example.europa.eu"
    assert collection["expires_at"] == "2025-03-17T09:30:00+00:00"
    token = only(mig_plan, SECRET).inputs
    assert token["metadata"]["name"] == "qdrant-token"
    assert token["stringData"] == "[secret]"


def test_outputs(mig_plan: Plan) -> None:
    assert mig_plan.outputs == {
        "auditId": "2025-017-chatbot",
        "expiresAt": "2025-03-17T09:30:00Z",
        "maxExpiresAt": "2025-03-21T09:30:00Z",
        "mlflowCredentials": "[secret]",
        "mlflowExperiment": "audit/2025-017-chatbot",
        "mlflowExternalUrl": "https://mlflow.ailab.example.europa.eu",
        "mlflowRevertedRenames": None,
        "mlflowUrl": "http://mlflow.ailab-mlflow.svc.cluster.local:5000",
        "namespace": "audit-2025-017-chatbot",
        "qdrantCollection": "audit_2025_017_chatbot",
        "qdrantExternalUrl": "https://qdrant.ailab.example.europa.eu",
        "qdrantUrl": "http://qdrant.ailab-vectordb.svc.cluster.local:6333",
        "workbench": "workbench",
    }


def test_offline_plan_secrets_never_in_clear(mig_plan: Plan) -> None:
    text = json.dumps(mig_plan.to_json())
    assert OFFLINE_SECRET not in text and SECRET_PLACEHOLDER not in text
    provider = only(mig_plan, "pulumi:providers:kubernetes").inputs
    assert provider["kubeconfig"] == "[secret]"
    assert only(mig_plan, EXPERIMENT).inputs["admin_password"] == "[secret]"
    assert only(mig_plan, COLLECTION).inputs["api_key"] == "[secret]"


SENTINELS = {
    "password": "MLFLOW-ADMIN-SENTINEL-0123456789",
    "api_key": "QDRANT-KEY-SENTINEL-0123456789abcdef",
    "kube": "KUBECONFIG-SENTINEL",
}


def test_real_credentials_never_in_clear(aws_lab: LabSpec) -> None:
    """With plain (non-Output) credentials handed in, the component still keeps them secret."""
    connection = LabConnection(
        services=connection_from_spec(aws_lab).services,
        mlflow_admin_username="admin",
        mlflow_admin_password=SENTINELS["password"],
        qdrant_api_key=SENTINELS["api_key"],
        kubeconfig=None,
        kube_context="ctx",
    )
    program = sandbox_program(make_spec(aws_lab), aws_lab, lambda: connection)
    plan = run_program(program, project=SANDBOX_PROJECT, stack="2025-017-chatbot", kind="sandbox")
    text = json.dumps(plan.to_json())
    for sentinel in SENTINELS.values():
        assert sentinel not in text


def test_onprem_uses_the_kube_context(onprem_lab: LabSpec) -> None:
    plan = plan_sandbox(make_spec(onprem_lab, stack="onprem"), onprem_lab)
    provider = only(plan, "pulumi:providers:kubernetes").inputs
    assert provider["context"] == "ailab-onprem"
    assert "kubeconfig" not in provider


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_deployed_program_reads_the_lab_plans_outputs(
    stack: str, lab_plans: dict[str, Plan], deployed_plans: dict[str, Plan]
) -> None:
    """For real, the lab's outputs come through a StackReference: here the example lab's own plan answers it."""
    exported = lab_plans[stack].outputs
    plan = deployed_plans[stack]
    egress = _policies(plan)["allow-lab-services"]["egress"]
    peers = [rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in egress]
    assert peers == [exported["namespaces"]["mlflow"], exported["namespaces"]["vectorDb"]]
    experiment = only(plan, EXPERIMENT).inputs
    # The operator's machine reaches the services through the lab's ingress: the exported external URLs.
    assert experiment["tracking_url"] == exported["mlflowExternalUrl"]
    assert experiment["admin_username"] == exported["mlflowAdminUsername"]
    assert experiment["admin_password"] == only(plan, COLLECTION).inputs["api_key"] == "[secret]"
    assert only(plan, COLLECTION).inputs["url"] == exported["qdrantExternalUrl"]
    env = {item["name"]: item.get("value") for item in _pod(plan)["containers"][0]["env"]}
    assert env["MLFLOW_TRACKING_URI"] == exported["mlflowUrl"]
    assert plan.outputs["mlflowExternalUrl"] == exported["mlflowExternalUrl"]
    assert plan.outputs["qdrantExternalUrl"] == exported["qdrantExternalUrl"]
    provider = only(plan, "pulumi:providers:kubernetes").inputs
    if stack == "aws-eu":
        assert provider["kubeconfig"] == exported["kubeconfig"] == "[secret]"
    else:
        assert provider["context"] == exported["kubeContext"] and "kubeconfig" not in provider


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_offline_plan_is_the_deployed_one(stack: str, deployed_plans: dict[str, Plan]) -> None:
    """The offline plan (what the gate checks) derives from the spec exactly what the lab stack exports."""
    lab_spec = lab(stack)
    offline = plan_sandbox(make_spec(lab_spec, stack=stack), lab_spec)
    deployed = deployed_plans[stack]

    def objects(plan: Plan) -> dict[str, Any]:
        return {r.name: r.inputs for r in plan.resources if r.type.startswith("kubernetes:")}

    assert objects(offline) == objects(deployed)
    assert offline.outputs == deployed.outputs


def test_lab_credentials_stay_secret_whatever_the_lab_stack_marked(aws_lab: LabSpec, lab_plans: dict[str, Plan]) -> None:
    outputs = lab_plans["aws-eu"].outputs | {
        "kubeconfig": SENTINELS["kube"],
        "mlflowAdminPassword": SENTINELS["password"],
        "qdrantApiKey": SENTINELS["api_key"],
    }
    references: list[str] = []
    plan = plan_on_lab_outputs(make_spec(aws_lab), aws_lab, outputs, references)
    assert references == [lab_stack_reference_name("aws-eu")] == ["organization/ailab/aws-eu"]
    text = json.dumps(plan.to_json())
    for sentinel in SENTINELS.values():
        assert sentinel not in text


def test_a_lab_without_ingress_has_no_external_urls(aws_lab: LabSpec, lab_plans: dict[str, Plan]) -> None:
    outputs = {name: value for name, value in lab_plans["aws-eu"].outputs.items() if not name.endswith("ExternalUrl")}
    plan = plan_on_lab_outputs(make_spec(aws_lab), aws_lab, outputs)
    assert plan.outputs["mlflowExternalUrl"] is None and plan.outputs["qdrantExternalUrl"] is None


def test_planning_imports_no_service_client() -> None:
    """httpx, PyJWT (with cryptography) and qdrant-client talk to the services; an offline plan needs none of them."""
    code = (
        "import sys; from tests.sandbox.helpers import lab, make_spec; from ailab.sandbox.program import plan_sandbox; "
        "aws = lab('aws-eu'); plan_sandbox(make_spec(aws), aws); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'jwt', 'cryptography', 'qdrant_client'}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True).stdout
    assert imported.strip() == "[]"
