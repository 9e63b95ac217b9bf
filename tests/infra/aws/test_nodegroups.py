"""Managed node groups: NVIDIA AMI, GPU taint and labels, IMDSv2, encrypted volumes, no public IPs."""

from __future__ import annotations

from ailab.infra.aws.nodegroups import eks_taints, system_ami_type
from ailab.spec.gpu_sharing import pool_node_labels
from ailab.spec.model import GpuPool, NodePool, Taint

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}


def _group(lab, pool):
    return lab.one(NODE_GROUP, f"ailab-nodes-{pool}")


def test_gpu_groups_use_the_nvidia_ami_the_gpu_taint_and_the_operator_labels(lab):
    for pool in lab.spec.gpu_pools:
        group = _group(lab, pool.name).inputs
        assert group["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group["taints"][0] == GPU_TAINT
        assert group["labels"] == {**pool.labels, **pool_node_labels(pool)}
        assert group["instanceTypes"] == pool.instance_types
        assert group["scalingConfig"] == {"minSize": pool.min_size, "maxSize": pool.max_size, "desiredSize": pool.desired_size}
    h100 = _group(lab, "h100").inputs["labels"]
    assert h100["nvidia.com/mig.config"] == "all-1g.10gb" and h100["nvidia.com/device-plugin.config"] == "h100"
    assert _group(lab, "l4").inputs["labels"]["nvidia.com/mig.config"] == "all-disabled"


def test_system_group_is_standard_and_untainted(lab):
    group = _group(lab, "system").inputs
    assert group["amiType"] == "AL2023_x86_64_STANDARD"
    assert not group.get("taints")
    assert group["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 3}


def test_groups_run_in_private_subnets_at_the_cluster_version(lab):
    private = sorted(f"{s.name}-id" for s in lab.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name)
    for group in lab.of_type(NODE_GROUP):
        assert sorted(group.inputs["subnetIds"]) == private
        assert group.inputs["version"] == "1.35" and group.inputs["clusterName"] == "ailab-eu"
        assert "remoteAccess" not in group.inputs


def test_launch_templates_require_imdsv2_encrypt_volumes_and_give_no_public_ip(lab):
    templates = lab.of_type(TEMPLATE)
    assert len(templates) == len(lab.of_type(NODE_GROUP)) == 3
    cluster_group = lab.one("aws:ec2/securityGroup:SecurityGroup", "ailab-mlflow-db-clients").inputs["ingress"][0][
        "securityGroups"
    ]
    for template in templates:
        inputs = template.inputs
        assert inputs["metadataOptions"]["httpTokens"] == "required"
        assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        (disk,) = inputs["blockDeviceMappings"]
        assert disk["ebs"]["encrypted"] == "true"
        assert disk["ebs"]["kmsKeyId"] == lab.values["volume_key_arn"]
        (interface,) = inputs["networkInterfaces"]
        assert interface["associatePublicIpAddress"] == "false"
        assert interface["securityGroups"] == cluster_group
        assert "iamInstanceProfile" not in inputs and "keyName" not in inputs
    for _, pool in lab.spec.pools():
        disk = lab.one(TEMPLATE, f"ailab-nodes-{pool.name}").inputs["blockDeviceMappings"][0]["ebs"]
        assert disk["volumeSize"] == pool.disk_size_gib


def test_groups_use_their_own_template_version(lab):
    for group in lab.of_type(NODE_GROUP):
        assert group.inputs["launchTemplate"] == {"id": f"{group.name}-id", "version": "1"}


def test_launched_instances_volumes_and_interfaces_carry_the_lab_tags(lab):
    for template in lab.of_type(TEMPLATE):
        specs = {spec["resourceType"]: spec["tags"] for spec in template.inputs["tagSpecifications"]}
        assert set(specs) == {"instance", "volume", "network-interface"}
        for tags in specs.values():
            assert tags["ailab:owner"] == "ai-lab-unit" and tags["ailab:data-classification"] == "confidential"


def test_node_role_has_only_the_node_policies(lab):
    role = lab.one("aws:iam/role:Role", "ailab-nodes-node")
    (trust,) = lab.statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = sorted(
        a.inputs["policyArn"]
        for a in lab.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith("ailab-nodes-")
    )
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]
    assert not [p for p in lab.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.startswith("ailab-nodes-")]


def test_pool_taints_are_kept_and_the_gpu_taint_is_not_doubled():
    pool = GpuPool(
        name="a100",
        instance_types=["p4d.24xlarge"],
        taints=[Taint(key="nvidia.com/gpu", value="yes"), Taint(key="team", value="audit", effect="NoExecute")],
    )
    taints = [(t.key, t.value, t.effect) for t in eks_taints(pool)]
    assert taints == [("nvidia.com/gpu", "true", "NO_SCHEDULE"), ("team", "audit", "NO_EXECUTE")]


def test_system_ami_follows_the_architecture():
    assert system_ami_type(NodePool(instance_types=["m7g.xlarge", "c6gn.2xlarge"])) == "AL2023_ARM_64_STANDARD"
    assert system_ami_type(NodePool(instance_types=["m7i.xlarge", "m7i-flex.large"])) == "AL2023_x86_64_STANDARD"
