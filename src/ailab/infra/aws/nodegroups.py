"""EKS managed node groups: the system pool and one group per GPU pool.

Every group has its own launch template: root volume encrypted with the data key, IMDSv2
required with a hop limit of 1 (pods cannot borrow the node's credentials), no public IP, and
the lab's tags on the instances, volumes and interfaces (provider default tags do not reach
what an Auto Scaling group launches). GPU groups use the NVIDIA-accelerated AL2023 AMI, carry
the GPU taint and the labels the GPU operator reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.policies import service_trust
from ailab.spec.gpu_sharing import gpu_taint, pool_node_labels
from ailab.spec.model import GpuPool, NodePool, Taint, is_graviton

GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
NODE_POLICIES: tuple[str, ...] = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
"""The AWS managed policies a node needs: join the cluster, run the VPC CNI, pull images."""

_EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
_ROOT_DEVICE = "/dev/xvda"
_TAGGED_AT_LAUNCH = ("instance", "volume", "network-interface")


def system_ami_type(pool: NodePool) -> str:
    """The standard AL2023 AMI type for the pool's architecture (the spec keeps a pool to one architecture)."""
    return "AL2023_ARM_64_STANDARD" if is_graviton(pool.instance_types[0]) else "AL2023_x86_64_STANDARD"


def gpu_labels(pool: GpuPool) -> dict[str, str]:
    """The pool's own labels, then those that configure the GPU operator (which win on conflict)."""
    return {**pool.labels, **pool_node_labels(pool)}


def eks_taints(pool: NodePool) -> list[aws.eks.NodeGroupTaintArgs]:
    """The pool's taints in EKS's spelling; GPU pools always get the GPU taint first."""
    taints = list(pool.taints)
    if isinstance(pool, GpuPool):
        gpu = Taint.model_validate(gpu_taint())
        taints = [gpu, *(taint for taint in taints if (taint.key, taint.effect) != (gpu.key, gpu.effect))]
    return [
        aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=_EKS_TAINT_EFFECTS[taint.effect])
        for taint in taints
    ]


@dataclass(frozen=True)
class NodeGroupsArgs:
    lab_name: str
    cluster: aws.eks.Cluster
    account: AwsAccount
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    """The cluster security group EKS created: nodes talk to the control plane and each other through it."""
    volume_key_arn: pulumi.Input[str]
    system_pool: NodePool
    gpu_pools: Sequence[GpuPool]
    launch_tags: Mapping[str, str]
    """Tags for what the Auto Scaling groups launch (instances, volumes, interfaces)."""
    after: Sequence[pulumi.Resource] = ()
    """What must be in place before any node joins, e.g. the CNI add-on that enforces network policies."""


class NodeGroups(pulumi.ComponentResource):
    """The node IAM role, and a launch template and managed node group per pool."""

    role: aws.iam.Role
    groups: dict[str, aws.eks.NodeGroup]

    def __init__(self, name: str, args: NodeGroupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:NodeGroups", name, None, opts)
        self._name = name
        self._args = args
        self.role = aws.iam.Role(
            f"{name}-node",
            description=f"{args.lab_name}: EKS worker nodes",
            assume_role_policy=service_trust("ec2.amazonaws.com"),
            tags={"Name": f"{args.lab_name}-node"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=self.role.name,
                policy_arn=args.account.managed_policy(policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy in NODE_POLICIES
        ]
        self.groups = {pool.name: self._group(pool, ami_type, labels) for pool, ami_type, labels in self._pools()}
        self.register_outputs({"nodeRoleArn": self.role.arn, "nodeGroups": {k: g.arn for k, g in self.groups.items()}})

    def _pools(self) -> Iterator[tuple[NodePool, str, dict[str, str]]]:
        args = self._args
        yield args.system_pool, system_ami_type(args.system_pool), dict(args.system_pool.labels)
        for pool in args.gpu_pools:
            yield pool, GPU_AMI_TYPE, gpu_labels(pool)

    def _group(self, pool: NodePool, ami_type: str, labels: dict[str, str]) -> aws.eks.NodeGroup:
        args = self._args
        display = f"{args.lab_name}-{pool.name}"
        template = aws.ec2.LaunchTemplate(
            f"{self._name}-{pool.name}",
            description=f"{display}: EKS managed nodes",
            update_default_version=True,
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=_ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=pool.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        kms_key_id=args.volume_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1, instance_metadata_tags="disabled"
            ),
            # Security groups given here replace the ones EKS would attach, so the cluster group is named explicitly.
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=[args.security_group_id],
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**args.launch_tags, "Name": display})
                for kind in _TAGGED_AT_LAUNCH
            ],
            tags={"Name": display},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.eks.NodeGroup(
            f"{self._name}-{pool.name}",
            cluster_name=args.cluster.name,
            version=args.cluster.version,
            node_role_arn=self.role.arn,
            subnet_ids=list(args.subnet_ids),
            instance_types=list(pool.instance_types),
            ami_type=ami_type,
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool.min_size, max_size=pool.max_size, desired_size=pool.desired_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            labels=labels,
            taints=eks_taints(pool),
            node_repair_config=aws.eks.NodeGroupNodeRepairConfigArgs(enabled=True),
            tags={"Name": display},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._attachments, *args.after]),
        )
