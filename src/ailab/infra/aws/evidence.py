"""The evidence bucket and the audit trail's signing key.

The bucket holds the trail's write-once copies (``ailab.trail.store``): versioned, Object Lock in
COMPLIANCE mode with the spec's retention as the default, SSE-KMS with the data key, public access
blocked, TLS 1.2+ only, and a policy that denies every delete (and any change of the lifecycle) to
everyone. Its lifecycle removes a copy the day after its retention has passed (storage limitation):
nothing can remove it sooner. It is separate from the artifact bucket, whose lifecycle is the
audit teams' working data's. The signing key is an asymmetric Ed25519 KMS key
(``ECC_NIST_EDWARDS25519``); only the operators' role and the in-cluster reaper's role may ``kms:Sign``
with it, anyone in the account may read its public key to verify.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.buckets import bucket_policy, every_object, private_bucket
from ailab.infra.aws.policies import Statement, document, statement
from ailab.spec.model import EvidenceSpec

NO_DELETE = ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:PutLifecycleConfiguration")


@dataclass(frozen=True)
class EvidenceStoreArgs:
    lab_name: str
    account: AwsAccount
    kms_key_arn: pulumi.Input[str]
    """The data key, for SSE-KMS of the copies."""
    settings: EvidenceSpec
    deletion_window_days: int
    reaper_role_arn: pulumi.Input[str] | None = None
    """The in-cluster reaper's IRSA role, which signs its own trail's checkpoints; None without a reaper."""


class EvidenceStore(pulumi.ComponentResource):
    """The locked evidence bucket and the trail's KMS signing key (alias ``alias/<lab>-trail``)."""

    bucket: aws.s3.Bucket
    signing_key: aws.kms.Key

    def __init__(self, name: str, args: EvidenceStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:EvidenceStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        private = private_bucket(
            name, display_name=f"{args.lab_name}-evidence", kms_key_arn=args.kms_key_arn, parent=self, object_lock=True
        )
        self.bucket = private.bucket
        versioning = private.versioning
        aws.s3.BucketObjectLockConfiguration(
            name,
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                    mode="COMPLIANCE", days=args.settings.retention_days
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        # Storage limitation: a copy goes when its retention has passed (Object Lock refuses it before),
        # without anyone having to remember. Made before the policy, which then refuses any change to it.
        lifecycle = aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-after-retention",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.settings.retention_days + 1),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.settings.retention_days + 1
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        everything = every_object(private)
        deny_deletes = statement("DenyEveryDelete", NO_DELETE, everything, effect="Deny", principal={"AWS": "*"})
        bucket_policy(name, private, self, extra=[deny_deletes], after=[lifecycle])
        self.signing_key = aws.kms.Key(
            f"{name}-signing",
            description=f"{args.lab_name}: signs the audit trail's checkpoints",
            customer_master_key_spec="ECC_NIST_EDWARDS25519",
            key_usage="SIGN_VERIFY",
            deletion_window_in_days=args.deletion_window_days,
            policy=self._key_policy(),
            tags={"Name": f"{args.lab_name}-trail"},
            opts=child,
        )
        aws.kms.Alias(f"{name}-signing", name=f"alias/{args.lab_name}-trail", target_key_id=self.signing_key.key_id, opts=child)
        self.register_outputs({"bucket": self.bucket.bucket, "signingKey": self.signing_key.arn})

    def _key_policy(self) -> pulumi.Output[str]:
        account = self._args.account
        statements: list[Statement] = [
            # Administration stays with the account's IAM policies, signing does not (denied below to all but the operators).
            statement("AccountIamPolicies", ["kms:*"], ["*"], principal={"AWS": account.root()}),
            statement(
                "AnyoneInTheAccountVerifies", ["kms:GetPublicKey", "kms:DescribeKey", "kms:Verify"], ["*"],
                principal={"AWS": account.root()},
            ),
        ]  # fmt: skip
        role = self._args.settings.signers_role_arn
        if role is not None:
            statements.append(statement("OperatorsSign", ["kms:Sign"], ["*"], principal={"AWS": role}))
        # The reaper's role signs through its IAM policy (AccountIamPolicies); it is only spared the deny.
        signers = [arn for arn in (role, self._args.reaper_role_arn) if arn is not None]
        if signers:
            condition = {"ArnNotEquals": {"aws:PrincipalArn": signers[0] if len(signers) == 1 else signers}}
            statements.append(
                statement("NobodyElseSigns", ["kms:Sign"], ["*"], effect="Deny", principal={"AWS": "*"}, condition=condition)
            )
        else:
            statements.append(statement("NobodySigns", ["kms:Sign"], ["*"], effect="Deny", principal={"AWS": "*"}))
        return document(*statements)
