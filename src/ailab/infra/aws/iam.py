"""IAM roles for Kubernetes service accounts (IRSA): one service account, nothing else, may assume each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.eks import STS_AUDIENCE
from ailab.infra.aws.policies import Statement, document, statement


def irsa_trust(
    provider_arn: pulumi.Input[str], issuer: pulumi.Input[str], namespace: str, service_account: str
) -> pulumi.Output[str]:
    """Trust the cluster's OIDC provider for exactly ``system:serviceaccount:<namespace>:<service_account>``."""

    def trust(provider: str, issuer_host: str) -> Statement:
        return statement(
            "ServiceAccountOnly",
            ["sts:AssumeRoleWithWebIdentity"],
            principal={"Federated": provider},
            condition={
                "StringEquals": {
                    f"{issuer_host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer_host}:aud": STS_AUDIENCE,
                }
            },
        )

    return document(pulumi.Output.all(provider_arn, issuer).apply(lambda values: trust(values[0], values[1])))


@dataclass(frozen=True)
class IrsaRoleArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    account: AwsAccount
    policy: pulumi.Input[str] | None = None
    """An inline identity policy (JSON)."""
    managed_policies: Sequence[str] = field(default_factory=tuple)
    """AWS managed policies to attach (``service-role/AmazonEBSCSIDriverPolicy``), where AWS keeps a driver's
    permissions current and as narrow as its API calls."""


class IrsaRole(pulumi.ComponentResource):
    """The role a pod running as one service account assumes through the cluster's OIDC provider."""

    role: aws.iam.Role

    def __init__(self, name: str, args: IrsaRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:IrsaRole", name, None, opts)
        subject = f"{args.namespace}/{args.service_account}"
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            name,
            description=f"IRSA: service account {subject}",
            assume_role_policy=irsa_trust(args.oidc_provider_arn, args.oidc_issuer, args.namespace, args.service_account),
            tags={"Name": name, "ailab:service-account": subject},
            opts=child,
        )
        if args.policy is not None:
            aws.iam.RolePolicy(name, role=self.role.id, policy=args.policy, opts=child)
        for policy in args.managed_policies:
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy.rsplit('/', 1)[-1]}",
                role=self.role.name,
                policy_arn=args.account.managed_policy(policy),
                opts=child,
            )
        self.register_outputs({"roleArn": self.role.arn})
