"""The sandbox program under the Pulumi SDK's mocks: every resource and the properties that make it a sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from tests.sandbox.helpers import REPO, make_spec, only

from ailab.plan.graph import Plan
from ailab.plan.mocks import LabMocks
from ailab.plan.runner import run_program
from ailab.sandbox import manifests
from ailab.sandbox.manifests import LabServices
from ailab.sandbox.program import (
    OFFLINE_SECRET,
    SANDBOX_PROJECT,
    LabConnection,
    connection_from_stack,
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
        BINDING: 1,
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


def test_time_sliced_profile_quota(aws_lab: LabSpec) -> None:
    hard = manifests.resource_quota(make_spec(aws_lab, profile="gpu-shared"), aws_lab)["spec"]["hard"]
    assert hard["requests.nvidia.com/gpu"] == "1"
    assert hard["requests.nvidia.com/mig-1g.10gb"] == "0"


def test_onprem_mig_profile(onprem_lab: LabSpec) -> None:
    spec = make_spec(onprem_lab, stack="onprem")
    assert manifests.resource_quota(spec, onprem_lab)["spec"]["hard"]["requests.nvidia.com/mig-3g.40gb"] == "1"
    limits = manifests.workbench(spec, onprem_lab, _services(), "7")["spec"]["template"]["spec"]["containers"][0]["resources"][
        "limits"
    ]
    assert limits["nvidia.com/mig-3g.40gb"] == "1"


def test_limit_range_from_the_profile(mig_plan: Plan) -> None:
    limits = {item["type"]: item for item in only(mig_plan, LIMITS).inputs["spec"]["limits"]}
    assert limits["Container"]["max"] == {"cpu": "8", "memory": "64Gi"}
    assert limits["Container"]["default"] == limits["Container"]["defaultRequest"] == {"cpu": "2000m", "memory": "16384Mi"}
    assert limits["PersistentVolumeClaim"]["max"] == {"storage": "200Gi"}


def _policies(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in plan.of_type(NETPOL)}


def test_default_deny_both_ways(mig_plan: Plan) -> None:
    deny = _policies(mig_plan)["default-deny"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


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
    assert "allow-egress-allowlist" not in manifests.network_policies(make_spec(bare), bare, _services())


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
    binding = only(mig_plan, BINDING).inputs
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "audit-team"}
    assert [(s["kind"], s["name"]) for s in binding["subjects"]] == [
        # the OIDC provider's prefixes, as the API server sees the team (EKS prefixes users too)
        ("User", "oidc:alice"),
        ("User", "oidc:bob@example.europa.eu"),
        ("Group", "oidc:audit-17"),
    ]
    assert [s["kind"] for s in only(cpu_plan, BINDING).inputs["subjects"]] == ["User", "User"]


def test_team_subjects_match_what_eks_makes_of_oidc_identities(mig_plan: Plan) -> None:
    """The sandbox binds the names the lab's EKS identity provider actually produces (prefix + claim)."""
    from ailab.plan.lab import plan_lab
    from ailab.spec.stackfile import find_project

    lab_plan = plan_lab("aws-eu", find_project(REPO))
    oidc = only(lab_plan, "aws:eks/identityProviderConfig:IdentityProviderConfig").inputs["oidc"]
    subjects = {(s["kind"], s["name"]) for s in only(mig_plan, BINDING).inputs["subjects"]}
    assert ("User", f"{oidc['usernamePrefix']}alice") in subjects
    assert ("Group", f"{oidc['groupsPrefix']}audit-17") in subjects


def test_without_an_identity_provider_in_the_spec_names_are_bare(onprem_lab: LabSpec) -> None:
    binding = manifests.role_binding(make_spec(onprem_lab, stack="onprem"), onprem_lab)
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


def _services() -> LabServices:
    return LabServices("lab-mlflow", "lab-vectordb", "http://mlflow:5000", "http://qdrant:6333")


def test_real_credentials_never_in_clear(aws_lab: LabSpec) -> None:
    """With plain (non-Output) credentials handed in, the component still keeps them secret."""
    connection = LabConnection(
        services=_services(),
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


LAB_OUTPUTS = {
    "kubeconfig": SENTINELS["kube"],
    "mlflowUrl": "http://mlflow.from-stack:5000",
    "qdrantUrl": "http://qdrant.from-stack:6333",
    "mlflowAdminUsername": "root-admin",
    "mlflowAdminPassword": SENTINELS["password"],
    "qdrantApiKey": SENTINELS["api_key"],
    "namespaces": {"mlflow": "stack-mlflow", "vectorDb": "stack-vectordb", "gpu": "stack-gpu"},
    "mlflowExternalUrl": "https://mlflow.from-stack",
}


def test_deployed_program_reads_the_lab_stack(aws_lab: LabSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    """For real, the lab's outputs come through a StackReference (answered here as the engine would)."""
    original = LabMocks.new_resource
    references: list[str] = []

    def new_resource(self: LabMocks, args: Any) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            references.append(args.name)
            secret = ["kubeconfig", "mlflowAdminPassword", "qdrantApiKey"]
            return args.name, {"name": args.name, "outputs": LAB_OUTPUTS, "secretOutputNames": secret}
        return original(self, args)

    monkeypatch.setattr(LabMocks, "new_resource", new_resource)
    program = sandbox_program(make_spec(aws_lab), aws_lab, lambda: connection_from_stack(aws_lab, "aws-eu"))
    plan = run_program(program, project=SANDBOX_PROJECT, stack="2025-017-chatbot", kind="sandbox")
    assert references == [lab_stack_reference_name("aws-eu")] == ["organization/ailab/aws-eu"]
    experiment = only(plan, EXPERIMENT).inputs
    # The lab's exported ingress URL, what the operator's machine reaches (the lab stack exports no Qdrant one here).
    assert experiment["tracking_url"] == "https://mlflow.from-stack"
    assert experiment["admin_username"] == "root-admin"
    egress = _policies(plan)["allow-lab-services"]["egress"]
    assert [rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for rule in egress] == [
        "stack-mlflow",
        "stack-vectordb",
    ]
    text = json.dumps(plan.to_json())
    for sentinel in SENTINELS.values():
        assert sentinel not in text
    assert plan.outputs["mlflowExternalUrl"] == "https://mlflow.from-stack"
    assert plan.outputs["qdrantExternalUrl"] is None  # the lab stack exports none


def test_planning_imports_no_service_client() -> None:
    """httpx, PyJWT (with cryptography) and qdrant-client talk to the services; an offline plan needs none of them."""
    code = (
        "import sys; from tests.sandbox.helpers import lab, make_spec; from ailab.sandbox.program import plan_sandbox; "
        "aws = lab('aws-eu'); plan_sandbox(make_spec(aws), aws); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'jwt', 'cryptography', 'qdrant_client'}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True, text=True).stdout
    assert imported.strip() == "[]"
