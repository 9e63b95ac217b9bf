"""Sandbox operators on AWS: an IAM role people assume, the reaper's IRSA role, and their EKS access entries.

Both roles enter the cluster as the sandbox-operator group (``kubernetes_groups``), which the
platform layer binds to the operator's least-privilege ClusterRole
(:mod:`ailab.infra.k8s.sandbox_operator`). Neither gets an EKS access policy: no
``AmazonEKSClusterAdminPolicy``, nothing beyond what RBAC grants the group. On AWS their only
rights are the sandboxes' state (the backend's prefix of its bucket, and the bucket's KMS key
through S3 only) and, for the operator role, ``eks:DescribeCluster`` on the lab's cluster, which
``aws eks update-kubeconfig`` needs to write a kubeconfig. The reaper also keeps its own audit trail
(:func:`reaper_trail_policy`): write-once copies under its prefix of the evidence bucket, checkpoints
signed with the lab's trail key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.iam import IrsaRole, IrsaRoleArgs
from ailab.infra.aws.policies import Statement, document, statement
from ailab.infra.contracts import REAPER_TRAIL_PREFIX, ReaperTrail
from ailab.spec.model import ReaperSettings


def state_access_policy(account: AwsAccount, reaper: ReaperSettings) -> pulumi.Output[str]:
    """Read and write the sandbox stacks under the backend's prefix (state, locks, history), and use its key via S3."""
    bucket, prefix = reaper.state_location()
    bucket_arn = account.bucket_arn(bucket)
    objects = pulumi.Output.concat(bucket_arn, f"/{prefix}/*" if prefix else "/*")
    statements: list[Statement] = [
        statement(
            "ListSandboxState",
            ["s3:ListBucket"],
            [bucket_arn],
            condition={"StringLike": {"s3:prefix": [f"{prefix}/*" if prefix else "*"]}},
        ),
        statement("ReadWriteSandboxState", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [objects]),
    ]
    if reaper.state_kms_key_arn is not None:
        statements.append(
            account.key_through_s3("UseTheStateKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], reaper.state_kms_key_arn)
        )
    return document(*statements)


def cluster_lookup_policy(account: AwsAccount, cluster_name: pulumi.Input[str]) -> pulumi.Output[str]:
    """Read the lab's cluster (its endpoint and CA), as ``aws eks update-kubeconfig --role-arn`` does; no other cluster."""
    cluster_arn = pulumi.Output.format(
        "arn:{0}:eks:{1}:{2}:cluster/{3}", account.partition, account.region, account.account_id, cluster_name
    )
    return document(statement("DescribeTheLabCluster", ["eks:DescribeCluster"], [cluster_arn]))


def reaper_trail_policy(account: AwsAccount, trail: ReaperTrail) -> pulumi.Output[str]:
    """What ``ailab.trail`` calls as the reaper, and nothing more (``trail/store.py``, ``trail/signer.py``).

    S3Store: ``PutObject`` with a COMPLIANCE retention date (``s3:PutObjectRetention`` too) and SSE-KMS
    (``kms:GenerateDataKey``); before copying, the store's latest checkpoint is read back to check the local trail
    still extends it: ``ListObjectsV2``, ``ListObjectVersions`` and ``GetObject`` of its first version
    (``s3:GetObjectVersion``, ``kms:Decrypt``). KmsSigner: ``GetPublicKey`` and ``Sign``. No delete of any kind
    (the bucket policy denies them to everyone anyway).
    """
    bucket_arn = account.bucket_arn(trail.evidence_bucket)
    objects = pulumi.Output.concat(bucket_arn, f"/{REAPER_TRAIL_PREFIX}/*")
    return document(
        statement(
            "ListReaperTrail",
            ["s3:ListBucket", "s3:ListBucketVersions"],
            [bucket_arn],
            condition={"StringLike": {"s3:prefix": [f"{REAPER_TRAIL_PREFIX}/*"]}},
        ),
        statement("CopyReaperTrailOnce", ["s3:PutObject", "s3:PutObjectRetention"], [objects]),
        statement("ReadBackReaperTrail", ["s3:GetObjectVersion"], [objects]),
        statement("SignReaperCheckpoints", ["kms:Sign", "kms:GetPublicKey"], [trail.signing_key_arn]),
        account.key_through_s3("UseTheEvidenceKeyThroughS3", ["kms:GenerateDataKey", "kms:Decrypt"], trail.bucket_key_arn),
    )


def assumed_by(principals: Sequence[str]) -> pulumi.Output[str]:
    """A trust policy naming exactly ``principals`` (roles or users), nothing account-wide."""
    return document(statement("NamedOperatorsOnly", ["sts:AssumeRole"], principal={"AWS": sorted(principals)}))


@dataclass(frozen=True)
class SandboxOperatorsArgs:
    lab_name: str
    cluster_name: pulumi.Input[str]
    account: AwsAccount
    group: str
    """The Kubernetes group both roles are mapped into (:func:`ailab.spec.naming.sandbox_operator_group`)."""
    principals: Sequence[str]
    """Who may assume the operator role (``aws.sandbox_operator_principals``); empty: no operator role."""
    reaper: ReaperSettings | None
    reaper_namespace: str
    reaper_service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]


class SandboxOperators(pulumi.ComponentResource):
    """The ``sandbox-operator`` role for people, the reaper's IRSA role, and an access entry (no access policy) for each."""

    operator_role_arn: pulumi.Output[str] | None
    """What operators assume (``aws eks get-token --role-arn``, or an AWS profile's ``role_arn``); None without principals."""
    reaper_role_arn: pulumi.Output[str] | None
    """The reaper ServiceAccount's ``eks.amazonaws.com/role-arn``; None without a reaper."""
    access: list[pulumi.Resource]
    _reaper_role: aws.iam.Role | None

    def __init__(self, name: str, args: SandboxOperatorsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:SandboxOperators", name, None, opts)
        self._name, self._account = name, args.account
        child = pulumi.ResourceOptions(parent=self)
        state = state_access_policy(args.account, args.reaper) if args.reaper is not None else None
        self.access = []
        self.operator_role_arn = None
        if args.principals:
            role = aws.iam.Role(
                f"{name}-sandbox-operator",
                description=f"{args.lab_name}: sandbox operations (ailab sandbox create/destroy/reap), not cluster-admin",
                assume_role_policy=assumed_by(args.principals),
                max_session_duration=3600,
                tags={"Name": f"{args.lab_name}-sandbox-operator"},
                opts=child,
            )
            aws.iam.RolePolicy(
                f"{name}-sandbox-operator-cluster",
                role=role.id,
                policy=cluster_lookup_policy(args.account, args.cluster_name),
                opts=child,
            )
            if state is not None:
                aws.iam.RolePolicy(f"{name}-sandbox-operator-state", role=role.id, policy=state, opts=child)
            self.access.append(self._entry(f"{name}-sandbox-operator", args, role.arn))
            self.operator_role_arn = role.arn
        self.reaper_role_arn = None
        self._reaper_role = None
        if args.reaper is not None:
            reaper = IrsaRole(
                f"{name}-reaper",
                IrsaRoleArgs(
                    namespace=args.reaper_namespace,
                    service_account=args.reaper_service_account,
                    oidc_provider_arn=args.oidc_provider_arn,
                    oidc_issuer=args.oidc_issuer,
                    account=args.account,
                    policy=state,
                ),
                opts=child,
            )
            self.access.append(self._entry(f"{name}-reaper", args, reaper.role.arn))
            self.reaper_role_arn = reaper.role.arn
            self._reaper_role = reaper.role
        self.register_outputs({"operatorRoleArn": self.operator_role_arn, "reaperRoleArn": self.reaper_role_arn})

    def grant_reaper_trail(self, trail: ReaperTrail) -> aws.iam.RolePolicy:
        """The reaper's role may keep its trail in ``trail`` (:func:`reaper_trail_policy`).

        Granted after construction: the signing key's policy names the reaper's role, so the role exists first.
        """
        assert self._reaper_role is not None, "a reaper's trail needs sandbox.reaper"
        return aws.iam.RolePolicy(
            f"{self._name}-reaper-trail",
            role=self._reaper_role.id,
            policy=reaper_trail_policy(self._account, trail),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _entry(self, name: str, args: SandboxOperatorsArgs, role_arn: pulumi.Input[str]) -> aws.eks.AccessEntry:
        """A STANDARD access entry into the operator group; deliberately no AccessPolicyAssociation."""
        return aws.eks.AccessEntry(
            name,
            cluster_name=args.cluster_name,
            principal_arn=role_arn,
            type="STANDARD",
            kubernetes_groups=[args.group],
            tags={"Name": name},
            opts=pulumi.ResourceOptions(parent=self),
        )
