"""The lab program as `pulumi up -s aws-eu` runs it: the AWS layer and the platform layer agree.

The components are tested alone in ``aws/`` and ``k8s/``; here the real program joins them,
and these tests check what only the join can get wrong: the key the platform's volumes are
encrypted with, when the platform may start talking to the cluster, the addresses its
network policies admit against what the AWS layer builds, and the service account MLflow's
IRSA role trusts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from ailab.plan.graph import Plan, PlannedResource
from ailab.plan.lab import plan_lab
from ailab.spec import LabSpec, find_project, load_stack_spec, naming

REPO = Path(__file__).resolve().parents[2]
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


@dataclass(frozen=True)
class Program:
    spec: LabSpec
    plan: Plan

    def one(self, type_token: str, name: str) -> PlannedResource:
        (found,) = [r for r in self.plan.of_type(type_token) if r.name == name]
        return found

    def egress(self, namespace: str, policy: str) -> list[tuple[IPv4Network, set[int]]]:
        """``(network, ports)`` of every ipBlock peer the policy's egress rules admit."""
        (spec,) = [
            r.inputs["spec"]
            for r in self.plan.of_type(NETWORK_POLICY)
            if (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) == (namespace, policy)
        ]
        return [
            (IPv4Network(peer["ipBlock"]["cidr"]), {port["port"] for port in rule["ports"]})
            for rule in spec["egress"]
            for peer in rule["to"]
        ]


@pytest.fixture(scope="module")
def aws() -> Program:
    project = find_project(REPO)
    return Program(load_stack_spec("aws-eu", project)[0], plan_lab("aws-eu", project))


def test_platform_volumes_are_encrypted_with_the_labs_data_key(aws):
    parameters = aws.one("kubernetes:storage.k8s.io/v1:StorageClass", "ailab-platform-encrypted-gp3").inputs["parameters"]
    key = parameters.pop("kmsKeyId")
    assert parameters == {"type": "gp3", "encrypted": "true"}
    assert key.startswith("arn:aws:kms:eu-central-1:123456789012:key/")
    # The data key: the one RDS uses, and the one the EBS CSI driver's role may use for the volumes it creates.
    assert key == aws.one("aws:rds/instance:Instance", "ailab-mlflow-db").inputs["kmsKeyId"]
    policy = json.loads(aws.one("aws:iam/rolePolicy:RolePolicy", "ailab-ebs-csi-controller").inputs["policy"])
    assert all(statement["Resource"] == [key] for statement in policy["Statement"])


def test_the_platform_waits_for_the_deployers_access(aws):
    provider = aws.one("pulumi:providers:kubernetes", "ailab-eks")
    admin = aws.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "ailab-eks-deployer-admin")
    assert admin.inputs["principalArn"] == aws.spec.aws.deployer_role_arn
    assert admin.urn in provider.dependencies


def test_mlflow_reaches_s3_through_the_vpcs_interface_endpoint_by_its_sdk_name(aws):
    """The name AWS documents for SDK clients of an S3 interface endpoint: bucket. and the endpoint's wildcard name."""
    deployment = aws.one("kubernetes:apps/v1:Deployment", "ailab-platform-mlflow-deployment")
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    variables = {item["name"]: item.get("value") for item in container["env"]}
    assert re.fullmatch(
        r"https://bucket\.vpce-[0-9a-f]{17}\.s3\.eu-central-1\.vpce\.amazonaws\.com", variables["MLFLOW_S3_ENDPOINT_URL"]
    )


def test_every_kubernetes_object_waits_for_the_system_nodes_storage_and_cni(aws):
    """Through its provider, which waits for them: a StatefulSet's volume needs the EBS CSI driver and a node."""
    provider = aws.one("pulumi:providers:kubernetes", "ailab-eks")
    for name in ("ailab-nodes-system", "ailab-ebs-csi", "ailab-vpc-cni"):
        (needed,) = [r for r in aws.plan.custom_resources() if r.name == name and r.type.startswith("aws:eks/")]
        assert needed.urn in provider.dependencies, name
    kubernetes = [r for r in aws.plan.custom_resources() if r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 30
    assert [r.name for r in kubernetes if not (r.provider or "").startswith(f"{provider.urn}::")] == []


def test_gpu_operator_reaches_the_clusters_api_server_address(aws):
    (cluster,) = aws.plan.of_type("aws:eks/cluster:Cluster")
    service_network = IPv4Network(cluster.inputs["kubernetesNetworkConfig"]["serviceIpv4Cidr"])
    kubernetes_service = IPv4Network(f"{service_network.network_address + 1}/32")
    assert (kubernetes_service, {443, 6443}) in aws.egress(naming.gpu_namespace(aws.spec), "allow-api-server")


def test_mlflow_reaches_the_database_and_the_aws_endpoints_it_uses(aws):
    allowed = aws.egress(naming.mlflow_namespace(aws.spec), "mlflow-egress")
    subnets = aws.plan.of_type("aws:ec2/subnet:Subnet")
    database_subnets = set(aws.one("aws:rds/subnetGroup:SubnetGroup", "ailab-mlflow-db").inputs["subnetIds"])
    endpoints = [e for e in aws.plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in endpoints) == [
        "com.amazonaws.eu-central-1.kms",
        "com.amazonaws.eu-central-1.s3",
        "com.amazonaws.eu-central-1.sts",
    ]
    endpoint_subnets = {subnet for e in endpoints if e.inputs["privateDnsEnabled"] for subnet in e.inputs["subnetIds"]}
    for subnet in subnets:
        network = IPv4Network(subnet.inputs["cidrBlock"])
        needed = ({5432} if f"{subnet.name}-id" in database_subnets else set()) | (
            {443} if f"{subnet.name}-id" in endpoint_subnets else set()
        )
        if needed:
            assert any(network.subnet_of(cidr) and needed <= ports for cidr, ports in allowed), subnet.name
    assert database_subnets and endpoint_subnets


def test_mlflows_irsa_role_trusts_the_service_account_mlflow_runs_as(aws):
    deployment = aws.one("kubernetes:apps/v1:Deployment", "ailab-platform-mlflow-deployment").inputs
    namespace, account = deployment["metadata"]["namespace"], deployment["spec"]["template"]["spec"]["serviceAccountName"]
    role = aws.one("aws:iam/role:Role", "ailab-mlflow")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    subjects = [value for key, value in trust["Condition"]["StringEquals"].items() if key.endswith(":sub")]
    assert subjects == [f"system:serviceaccount:{namespace}:{account}"]
    (service_account,) = [
        r.inputs
        for r in aws.plan.of_type("kubernetes:core/v1:ServiceAccount")
        if (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) == (namespace, account)
    ]
    assert service_account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(f":role/{role.name}")


def test_the_stack_exports_where_the_audit_trail_goes(aws):
    """Operators point AILAB_TRAIL_STORE and AILAB_TRAIL_SIGNING_KEY at these (docs/audit-trail.md)."""
    outputs = aws.plan.outputs
    assert {"evidenceBucket", "trailSigningKey", "artifactBucket"} <= set(outputs)
    assert outputs["evidenceBucket"] != outputs["artifactBucket"]


def test_the_platform_waits_for_the_path_to_the_private_api(aws):
    """The Kubernetes provider talks to the private endpoint through the Transit Gateway: attachment and routes first."""
    provider = aws.one("pulumi:providers:kubernetes", "ailab-eks")
    path = [
        r
        for r in aws.plan.custom_resources()
        if r.type == "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
        or (r.type == "aws:ec2/route:Route" and "transitGatewayId" in r.inputs)
    ]
    assert len(path) == 1 + 3
    assert all(r.urn in provider.dependencies for r in path)
