"""EKS add-ons the lab needs beyond the defaults.

* The VPC CNI, managed, with its network policy agent on. EKS installs the CNI on every new
  cluster, but without ``enableNetworkPolicy`` it ignores NetworkPolicies: the platform's and
  every sandbox's isolation would be declared and not enforced. The managed add-on takes over
  EKS's self-installed copy (``OVERWRITE`` on create) and puts the setting back if anyone edits
  the DaemonSet (``OVERWRITE`` on update). The version is left to EKS: its default for the
  cluster's Kubernetes version when the add-on is created (for the 1.29 and later the spec
  allows, a CNI later than 1.14, the first that enforces policies), rather than a pin that
  would have to follow every Kubernetes version the spec accepts; after a Kubernetes upgrade
  the add-ons are updated as EKS's upgrade procedure says. Enforcement is the standard mode:
  a new pod may talk for the moment before its policies reach the node; the strict mode would
  close that gap but also isolate every kube-system pod that no policy covers (CoreDNS among
  them).
* The EBS CSI driver, without which Qdrant's PersistentVolumeClaims never bind (EKS ships no
  volume provisioner).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.iam import IrsaRole, IrsaRoleArgs
from ailab.infra.aws.kms import USE_FOR_VOLUMES
from ailab.infra.aws.policies import document, statement

EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
VPC_CNI_ADDON = "vpc-cni"
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The add-on's configuration values; its schema takes the flag as the string "true"."""


def network_policy_cni(name: str, cluster: aws.eks.Cluster, opts: pulumi.ResourceOptions) -> aws.eks.Addon:
    """The VPC CNI add-on with NetworkPolicy enforcement on; node groups should be created after it.

    ``preserve`` keeps the CNI running if the add-on resource is ever deleted: without a CNI no
    pod on the cluster gets a network.
    """
    return aws.eks.Addon(
        name,
        cluster_name=cluster.name,
        addon_name=VPC_CNI_ADDON,
        configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        preserve=True,
        tags={"Name": VPC_CNI_ADDON},
        opts=opts,
    )


@dataclass(frozen=True)
class EbsCsiDriverArgs:
    cluster: aws.eks.Cluster
    account: AwsAccount
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    volume_key_arn: pulumi.Input[str]
    """The key encrypted volumes are created with (the StorageClass names it)."""
    nodes: Sequence[pulumi.Resource]
    """The add-on's controller needs nodes to run on before EKS reports it active."""


class EbsCsiDriver(pulumi.ComponentResource):
    """The managed add-on, its controller running as an IRSA role with AWS's driver policy and the volume key."""

    addon: aws.eks.Addon

    def __init__(self, name: str, args: EbsCsiDriverArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:EbsCsiDriver", name, None, opts)
        volume_key = [args.volume_key_arn]
        role = IrsaRole(
            f"{name}-controller",
            IrsaRoleArgs(
                namespace=EBS_CSI_NAMESPACE,
                service_account=EBS_CSI_SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_issuer=args.oidc_issuer,
                account=args.account,
                managed_policies=("service-role/AmazonEBSCSIDriverPolicy",),
                policy=document(
                    statement(
                        "GrantsForAttachedVolumes",
                        ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                        volume_key,
                        condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                    ),
                    statement("EncryptVolumes", USE_FOR_VOLUMES, volume_key),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.addon = aws.eks.Addon(
            name,
            cluster_name=args.cluster.name,
            addon_name=EBS_CSI_ADDON,
            service_account_role_arn=role.role.arn,
            tags={"Name": EBS_CSI_ADDON},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.nodes)),
        )
        self.register_outputs({"addonArn": self.addon.arn, "roleArn": role.role.arn})
