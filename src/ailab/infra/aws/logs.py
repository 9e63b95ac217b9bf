"""CloudWatch log groups of the lab: encrypted with the logs key, kept for a bounded time."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def encrypted_log_group(
    resource_name: str,
    *,
    log_group_name: str,
    retention_days: int,
    kms_key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.LogGroup:
    """A log group created before the service that writes to it, which would otherwise create it
    unencrypted and keep its logs forever."""
    return aws.cloudwatch.LogGroup(
        resource_name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=kms_key_arn,
        tags={"Name": log_group_name},
        opts=opts,
    )
