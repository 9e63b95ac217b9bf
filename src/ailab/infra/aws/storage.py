"""MLflow's artifact bucket: private, SSE-KMS with the data key, versioned, TLS only, with lifecycle rules.

The bucket is reached only through MLflow's IRSA role (see :meth:`ArtifactBucket.access_policy`):
MLflow proxies artifact traffic, so auditors never hold S3 credentials.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.buckets import bucket_policy, private_bucket
from ailab.infra.aws.policies import document, statement
from ailab.spec.model import MlflowArtifacts

ARTIFACTS_PREFIX = "artifacts"
_ABORT_MULTIPART_AFTER_DAYS = 7


def lifecycle_rule(settings: MlflowArtifacts) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """One rule for the whole bucket, from the spec.

    A transition that would come at or after expiry is left out (S3 refuses it, and it would
    only cost a transition fee); without expiry, delete markers left alone once their old
    versions expire are cleaned up instead.
    """
    expiry = settings.expire_after_days
    transition_days = settings.transition_to_infrequent_access_days
    transitions = (
        []
        if expiry is not None and expiry <= transition_days
        else [aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=transition_days, storage_class="STANDARD_IA")]
    )
    expiration = (
        aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expiry)
        if expiry is not None
        else aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True)
    )
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="artifact-retention",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        transitions=transitions,
        expiration=expiration,
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=settings.noncurrent_version_expiry_days
        ),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=_ABORT_MULTIPART_AFTER_DAYS
        ),
    )


@dataclass(frozen=True)
class ArtifactBucketArgs:
    lab_name: str
    account: AwsAccount
    kms_key_arn: pulumi.Input[str]
    lifecycle: MlflowArtifacts


class ArtifactBucket(pulumi.ComponentResource):
    """The bucket and its encryption, versioning, public access block, ownership, policy and lifecycle."""

    bucket: aws.s3.Bucket
    name: pulumi.Output[str]
    destination: pulumi.Output[str]
    """``s3://<bucket>/artifacts``: MLflow's ``--artifacts-destination``."""

    def __init__(self, name: str, args: ArtifactBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:ArtifactBucket", name, None, opts)
        self._args = args
        private = private_bucket(
            name, display_name=f"{args.lab_name}-mlflow-artifacts", kms_key_arn=args.kms_key_arn, parent=self
        )
        self.bucket = private.bucket
        self.name = self.bucket.bucket
        self.destination = pulumi.Output.concat("s3://", self.bucket.bucket, f"/{ARTIFACTS_PREFIX}")
        bucket_policy(name, private, self)
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[lifecycle_rule(args.lifecycle)],
            # Lifecycle rules on noncurrent versions need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[private.versioning]),
        )
        self.register_outputs({"bucket": self.name, "destination": self.destination})

    def access_policy(self) -> pulumi.Output[str]:
        """Read, write and delete under ``artifacts/`` of this bucket, with its key through S3 only."""
        objects = pulumi.Output.concat(self.bucket.arn, f"/{ARTIFACTS_PREFIX}/*")
        return document(
            statement(
                "ListArtifacts",
                ["s3:ListBucket"],
                [self.bucket.arn],
                condition={"StringLike": {"s3:prefix": [f"{ARTIFACTS_PREFIX}/*"]}},
            ),
            statement("ReadWriteArtifacts", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [objects]),
            self._args.account.key_through_s3(
                "UseTheBucketKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], self._args.kms_key_arn
            ),
        )
