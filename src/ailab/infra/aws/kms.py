"""The lab's customer-managed KMS keys: one per purpose, each rotating yearly.

Separate keys keep the blast radius small and the key policies short: ``secrets`` wraps EKS
Secrets (envelope encryption), ``logs`` encrypts the CloudWatch log groups, ``data`` encrypts
what holds lab data (S3 artifacts, RDS, node volumes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.policies import Statement, document, statement

USE_FOR_VOLUMES = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey")
"""What encrypting EBS volumes with the data key takes, for whoever creates them (Auto Scaling, the EBS CSI driver)."""


@dataclass(frozen=True)
class LabKeysArgs:
    lab_name: str
    account: AwsAccount
    deletion_window_days: int
    log_groups: Sequence[str]
    """Names of the log groups the ``logs`` key may encrypt (nothing else may use it through CloudWatch)."""


class LabKeys(pulumi.ComponentResource):
    """Three rotating customer-managed keys with aliases ``alias/<lab>-<purpose>``."""

    secrets: aws.kms.Key
    logs: aws.kms.Key
    data: aws.kms.Key

    def __init__(self, name: str, args: LabKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Keys", name, None, opts)
        self._name = name
        self._args = args
        self.secrets = self._key("secrets", "EKS Secrets envelope encryption", [])
        self.logs = self._key("logs", "CloudWatch Logs of the lab", [self._logs_statement()])
        self.data = self._key("data", "Lab data: MLflow artifacts, RDS, node volumes", self._autoscaling_statements())
        self.register_outputs({"secrets": self.secrets.arn, "logs": self.logs.arn, "data": self.data.arn})

    def _key(self, purpose: str, description: str, service_statements: list[Statement]) -> aws.kms.Key:
        args = self._args
        # AWS's default first statement: the account's IAM policies decide who else uses the key.
        root = statement("AccountIamPolicies", ["kms:*"], ["*"], principal={"AWS": args.account.root()})
        key = aws.kms.Key(
            f"{self._name}-{purpose}",
            description=f"{args.lab_name}: {description}",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=document(root, *service_statements),
            tags={"Name": f"{args.lab_name}-{purpose}"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            f"{self._name}-{purpose}",
            name=f"alias/{args.lab_name}-{purpose}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _logs_statement(self) -> Statement:
        account = self._args.account
        groups = [account.arn("logs", f"log-group:{group}") for group in self._args.log_groups]
        return statement(
            "CloudWatchLogsOfTheLab",
            ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            ["*"],
            principal={"Service": account.regional_service("logs")},
            condition={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": groups}},
        )

    def _autoscaling_statements(self) -> list[Statement]:
        """Let EC2 Auto Scaling launch nodes with volumes encrypted by this key.

        KMS refuses a key policy naming a role that does not exist yet, and the auto-scaling
        service-linked role appears only when the first group is created; so the principal is
        ``*``, pinned to that role by ``aws:PrincipalArn``.
        """
        account = self._args.account
        role = account.arn("iam", "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling", regional=False)
        pinned = {"aws:PrincipalArn": role}
        return [
            statement(
                "AutoScalingUsesKeyForVolumes", USE_FOR_VOLUMES, ["*"], principal={"AWS": "*"}, condition={"ArnEquals": pinned}
            ),
            statement(
                "AutoScalingGrantsForVolumes",
                ["kms:CreateGrant"],
                ["*"],
                principal={"AWS": "*"},
                condition={"ArnEquals": pinned, "Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
