"""What every S3 bucket of the lab has, built once: SSE-KMS with a lab key, versioning, public access
blocked, objects owned by the bucket owner, and a policy that refuses plain HTTP and TLS below 1.2.

The artifact bucket and the evidence bucket add their own parts (lifecycle, Object Lock, statements
of their policy) to the :class:`PrivateBucket` this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.policies import Statement, document, statement


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    versioning: aws.s3.BucketVersioning
    """Lifecycle rules and Object Lock need versioning in place first."""
    public_access: aws.s3.BucketPublicAccessBlock
    """S3 rejects a bucket policy while the public access block is being changed."""


def private_bucket(
    name: str, *, display_name: str, kms_key_arn: pulumi.Input[str], parent: pulumi.Resource, object_lock: bool = False
) -> PrivateBucket:
    """The bucket ``name`` with the lab's common settings; ``object_lock`` can only be chosen now, at creation."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, object_lock_enabled=object_lock or None, tags={"Name": display_name}, opts=child)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
                ),
                bucket_key_enabled=True,  # fewer KMS calls, same key
                blocked_encryption_types=["SSE-C"],  # keys S3 would not know are keys nobody could audit
            )
        ],
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        name,
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    return PrivateBucket(bucket, versioning, public_access)


def bucket_policy(
    name: str,
    private: PrivateBucket,
    parent: pulumi.Resource,
    extra: Sequence[Statement] = (),
    after: Sequence[pulumi.Resource] = (),
) -> aws.s3.BucketPolicy:
    """The bucket's policy: no plain HTTP, no TLS below 1.2, then ``extra`` statements."""
    resources = every_object(private)
    everyone = {"AWS": "*"}
    policy = document(
        statement(
            "DenyInsecureTransport", ["s3:*"], resources, effect="Deny", principal=everyone,
            condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
        statement(
            "DenyTlsBelow12", ["s3:*"], resources, effect="Deny", principal=everyone,
            condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        ),
        *extra,
    )  # fmt: skip
    return aws.s3.BucketPolicy(
        name,
        bucket=private.bucket.id,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[private.public_access, *after]),
    )


def every_object(private: PrivateBucket) -> list[pulumi.Input[str]]:
    """The bucket and its objects, as policy resources."""
    return [private.bucket.arn, pulumi.Output.concat(private.bucket.arn, "/*")]
