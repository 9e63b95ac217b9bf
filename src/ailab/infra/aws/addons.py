"""EKS add-ons the lab needs beyond the defaults: the EBS CSI driver, without which Qdrant's
PersistentVolumeClaims never bind (EKS ships no volume provisioner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.iam import IrsaRole, IrsaRoleArgs
from ailab.infra.aws.policies import document, statement

EBS_CSI_ADDON = "aws-ebs-csi-driver"
EBS_CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


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
                    statement(
                        "EncryptVolumes",
                        ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                        volume_key,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        addon = aws.eks.Addon(
            name,
            cluster_name=args.cluster.name,
            addon_name=EBS_CSI_ADDON,
            service_account_role_arn=role.role.arn,
            tags={"Name": EBS_CSI_ADDON},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.nodes)),
        )
        self.register_outputs({"addonArn": addon.arn, "roleArn": role.role.arn})
