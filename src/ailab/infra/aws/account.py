"""The account, partition and region the lab is deployed to, for ARNs the program writes itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.policies import Statement, statement


@dataclass(frozen=True)
class AwsAccount:
    """Looked up once through the lab's explicit provider, never from ambient AWS configuration."""

    region: str
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    dns_suffix: pulumi.Output[str]

    @classmethod
    def lookup(cls, region: str, provider: aws.Provider, parent: pulumi.Resource) -> AwsAccount:
        opts = pulumi.InvokeOutputOptions(provider=provider, parent=parent)
        identity = aws.get_caller_identity_output(opts=opts)
        partition = aws.get_partition_output(opts=opts)
        return cls(region, identity.account_id, partition.partition, partition.dns_suffix)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``; IAM ARNs have no region."""
        region = self.region if regional else ""
        return pulumi.Output.format("arn:{0}:{1}:{2}:{3}:{4}", self.partition, service, region, self.account_id, resource)

    def root(self) -> pulumi.Output[str]:
        """The account principal: in a key policy it hands decisions to the account's IAM policies."""
        return self.arn("iam", "root", regional=False)

    def bucket_arn(self, bucket: pulumi.Input[str]) -> pulumi.Output[str]:
        """An S3 bucket's ARN (bucket ARNs name neither region nor account)."""
        return pulumi.Output.format("arn:{0}:s3:::{1}", self.partition, bucket)

    def key_through_s3(self, sid: str, actions: Sequence[str], key_arn: pulumi.Input[str]) -> Statement:
        """Use of a KMS key only as S3 does it for its objects (``kms:ViaService`` the regional S3 endpoint)."""
        return statement(sid, actions, [key_arn], condition={"StringEquals": {"kms:ViaService": self.regional_service("s3")}})

    def regional_service(self, service: str) -> pulumi.Output[str]:
        """A regional service principal or endpoint host, e.g. ``logs.eu-central-1.amazonaws.com``."""
        return pulumi.Output.format("{0}.{1}.{2}", service, self.region, self.dns_suffix)

    def managed_policy(self, name: str) -> pulumi.Output[str]:
        """The ARN of the AWS managed policy ``name``."""
        return pulumi.Output.format("arn:{0}:iam::aws:policy/{1}", self.partition, name)
