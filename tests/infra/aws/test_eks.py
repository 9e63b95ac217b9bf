"""The EKS control plane: private endpoint, API firewall, logs, envelope encryption, IRSA, people's OIDC,
who administers it, and the CNI that enforces network policies."""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from ailab.infra.aws.eks import CONTROL_PLANE_LOG_TYPES
from ailab.infra.contracts import eks_service_network, kubernetes_service_ip

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"


def test_api_endpoint_is_private_with_the_example_transit_gateway(lab):
    vpc_config = lab.one(CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is False
    assert vpc_config["endpointPrivateAccess"] is True
    assert "publicAccessCidrs" not in vpc_config
    private = sorted(f"{s.name}-id" for s in lab.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name)
    assert sorted(vpc_config["subnetIds"]) == private


def test_cluster_version_and_every_control_plane_log_type(lab):
    cluster = lab.one(CLUSTER)
    assert cluster.inputs["name"] == "ailab-eu"
    assert cluster.inputs["version"] == lab.spec.cluster.kubernetes_version == "1.35"
    assert cluster.inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert set(CONTROL_PLANE_LOG_TYPES) == set(cluster.inputs["enabledClusterLogTypes"])


def test_control_plane_log_group_exists_first_encrypted_and_bounded(lab):
    group = lab.one("aws:cloudwatch/logGroup:LogGroup", "ailab-eks-control-plane")
    assert group.inputs["name"] == "/aws/eks/ailab-eu/cluster"
    assert group.inputs["retentionInDays"] == 365 and group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert group.urn in lab.one(CLUSTER).dependencies


def test_cluster_waits_for_its_roles_grants(lab):
    """EKS checks the cluster policy and the Secrets key at creation; on destroy they must outlive the cluster."""
    dependencies = set(lab.one(CLUSTER).dependencies)
    assert lab.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "ailab-eks-cluster-policy").urn in dependencies
    assert lab.one("aws:iam/rolePolicy:RolePolicy", "ailab-eks-secrets-key").urn in dependencies
    assert lab.one("aws:iam/role:Role", "ailab-eks-cluster").urn in dependencies


def test_secrets_are_envelope_encrypted_with_the_rotating_secrets_key(lab):
    encryption = lab.one(CLUSTER).inputs["encryptionConfig"]
    assert encryption["resources"] == ["secrets"]
    key_arn = encryption["provider"]["keyArn"]
    secrets_key = lab.one("aws:kms/key:Key", "ailab-keys-secrets")
    assert secrets_key.inputs["enableKeyRotation"] is True
    assert secrets_key.urn in lab.one(CLUSTER).dependencies
    assert key_arn.startswith("arn:aws:kms:eu-central-1:123456789012:key/") and key_arn != lab.values["volume_key_arn"]
    (use,) = lab.statements(lab.one("aws:iam/rolePolicy:RolePolicy", "ailab-eks-secrets-key"))
    assert use["Resource"] == [key_arn]


def test_api_security_group_allows_https_from_the_vpc_and_listed_networks_only(lab):
    group = lab.one("aws:ec2/securityGroup:SecurityGroup", "ailab-eks-api")
    (rule,) = group.inputs["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule["cidrBlocks"] == ["10.40.0.0/16", "10.200.0.0/24"]
    assert [rule["cidrBlocks"] for rule in group.inputs["egress"]] == [["10.40.0.0/16"]]
    assert lab.one(CLUSTER).inputs["vpcConfig"]["securityGroupIds"] == [f"{group.name}-id"]


def test_no_security_group_is_open_to_the_world(lab):
    for group in lab.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.inputs.get("ingress", []) + group.inputs.get("egress", []):
            assert "0.0.0.0/0" not in rule.get("cidrBlocks", []), group.name


def test_access_entries_and_standard_support(lab):
    cluster = lab.one(CLUSTER).inputs
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}


def test_cluster_role_is_for_eks_only(lab):
    role = lab.one("aws:iam/role:Role", "ailab-eks-cluster")
    (trust,) = lab.statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "eks.amazonaws.com"} and trust["Action"] == ["sts:AssumeRole"]
    attached = [
        a.inputs["policyArn"]
        for a in lab.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("ailab-eks-")
    ]
    assert attached == ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]


def test_irsa_provider_trusts_the_cluster_issuer_for_sts(lab):
    provider = lab.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"].startswith("https://oidc.eks.eu-central-1.amazonaws.com/id/")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_people_sign_in_through_the_spec_oidc_provider(lab):
    oidc = lab.one("aws:eks/identityProviderConfig:IdentityProviderConfig").inputs["oidc"]
    spec = lab.spec.access.oidc
    assert oidc["issuerUrl"] == spec.issuer_url and oidc["clientId"] == spec.client_id
    assert oidc["groupsClaim"] == spec.groups_claim == "groups"
    assert oidc["groupsPrefix"] == spec.groups_prefix == "oidc:"
    assert oidc["usernamePrefix"] == spec.username_prefix == "oidc:"
    assert oidc["usernameClaim"] == spec.username_claim


def test_no_identity_provider_without_oidc_in_the_spec(plan_variant):
    planned = plan_variant(**{"access.oidc": None})
    assert planned.of_type("aws:eks/identityProviderConfig:IdentityProviderConfig") == []
    assert len(planned.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 1


def test_ebs_csi_driver_add_on_runs_as_its_own_irsa_role(lab):
    addon = lab.one("aws:eks/addon:Addon", "ailab-ebs-csi")
    assert addon.inputs["addonName"] == "aws-ebs-csi-driver"
    role = lab.one("aws:iam/role:Role", "ailab-ebs-csi-controller")
    assert addon.inputs["serviceAccountRoleArn"] == f"arn:aws:iam::123456789012:role/{role.name}"
    (trust,) = lab.statements(role, "assumeRolePolicy")
    assert "system:serviceaccount:kube-system:ebs-csi-controller-sa" in trust["Condition"]["StringEquals"].values()
    # The system nodes only: a GPU group waiting for capacity must not hold up storage.
    groups = {g.name: g.urn for g in lab.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert [name for name, urn in groups.items() if urn in addon.dependencies] == ["ailab-nodes-system"]


def test_the_deployer_role_is_the_one_explicit_cluster_admin(lab):
    deployer = lab.spec.aws.deployer_role_arn
    assert deployer == "arn:aws:iam::123456789012:role/ailab-deployer"
    assert lab.one(CLUSTER).inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is False
    # The sandbox operators' entries have no access policy (tests/infra/aws/test_sandbox_operator.py).
    (entry,) = [e for e in lab.of_type(ACCESS_ENTRY) if e.name == "ailab-eks-deployer"]
    assert entry.inputs["principalArn"] == deployer and entry.inputs["type"] == "STANDARD"
    assert entry.inputs["clusterName"] == "ailab-eu" and "kubernetesGroups" not in entry.inputs
    (admin,) = lab.of_type(ACCESS_POLICY)
    assert admin.inputs["principalArn"] == deployer
    assert admin.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert admin.inputs["accessScope"] == {"type": "cluster"}
    assert entry.urn in admin.dependencies


def test_without_a_deployer_role_eks_keeps_its_creator_entry(plan_variant):
    planned = plan_variant(**{"aws.deployer_role_arn": None})
    assert planned.one(CLUSTER).inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    assert [e.name for e in planned.of_type(ACCESS_ENTRY)] == ["ailab-operators-sandbox-operator", "ailab-operators-reaper"]
    assert planned.of_type(ACCESS_POLICY) == []


def test_service_network_is_named_and_outside_the_vpc(lab, plan_variant):
    assert lab.one(CLUSTER).inputs["kubernetesNetworkConfig"] == {"ipFamily": "ipv4", "serviceIpv4Cidr": "172.20.0.0/16"}
    elsewhere = plan_variant(**{"aws.vpc_cidr": "172.20.0.0/16"})
    assert elsewhere.one(CLUSTER).inputs["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "10.100.0.0/16"


@pytest.mark.parametrize(
    ("vpc", "services"),
    [
        ("10.40.0.0/16", "172.20.0.0/16"),
        ("10.100.0.0/16", "172.20.0.0/16"),
        ("172.20.0.0/16", "10.100.0.0/16"),
        ("192.168.0.0/20", "10.100.0.0/16"),
    ],
)
def test_service_network_is_the_one_eks_would_choose(vpc, services):
    network = eks_service_network(IPv4Network(vpc))
    assert network == IPv4Network(services) and not network.overlaps(IPv4Network(vpc))
    assert kubernetes_service_ip(network) == network.network_address + 1


def test_vpc_cni_enforces_network_policies_before_any_node_joins(lab):
    cni = lab.one(ADDON, "ailab-vpc-cni")
    assert cni.inputs["addonName"] == "vpc-cni" and cni.inputs["clusterName"] == "ailab-eu"
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    # Takes over the copy EKS installs itself, and puts the setting back if the DaemonSet is edited.
    assert cni.inputs["resolveConflictsOnCreate"] == cni.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
    assert cni.inputs["preserve"] is True
    groups = lab.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(groups) == 3 and all(cni.urn in group.dependencies for group in groups)
