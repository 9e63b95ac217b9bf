"""The EKS control plane: private API endpoint only, every control-plane log type, Secrets
encrypted with a rotating KMS key, an IAM OIDC provider for IRSA and, when the spec names one,
the organisation's identity provider for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.kubeconfig import kubeconfig
from ailab.infra.aws.logs import encrypted_log_group
from ailab.infra.aws.policies import document, service_trust, statement
from ailab.spec.model import OidcSpec

CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
STS_AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    kubernetes_version: str
    account: AwsAccount
    vpc_id: pulumi.Input[str]
    vpc_cidr: IPv4Network
    subnet_ids: Sequence[pulumi.Input[str]]
    api_allowed_cidrs: Sequence[IPv4Network]
    """Networks besides the VPC (VPN, bastion) that reach the API endpoint on 443."""
    secrets_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_group: str
    log_retention_days: int
    oidc: OidcSpec | None


class Cluster(pulumi.ComponentResource):
    """An EKS cluster reachable only from inside the VPC and the allowed networks."""

    cluster: aws.eks.Cluster
    oidc_provider: aws.iam.OpenIdConnectProvider
    oidc_issuer: pulumi.Output[str]
    """The issuer without ``https://``: the prefix of IRSA trust-policy condition keys."""
    security_group_id: pulumi.Output[str]
    """The security group EKS creates and puts on managed nodes and control-plane interfaces."""
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = self._role(name, args)
        api = aws.ec2.SecurityGroup(
            f"{name}-api",
            description=f"{args.name}: EKS API endpoint, HTTPS from the VPC and the allowed networks only",
            vpc_id=args.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="Kubernetes API over HTTPS",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[str(args.vpc_cidr), *(str(network) for network in args.api_allowed_cidrs)],
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    description="Control plane to nodes and webhooks, inside the VPC only",
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=[str(args.vpc_cidr)],
                )
            ],
            tags={"Name": f"{args.name}-api"},
            opts=child,
        )
        log_group = encrypted_log_group(
            f"{name}-control-plane",
            log_group_name=args.log_group,
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_key_arn,
            opts=child,
        )
        self.cluster = aws.eks.Cluster(
            name,
            name=args.name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[api.id],
                endpoint_private_access=True,
                endpoint_public_access=False,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_key_arn)
            ),
            # Access entries, not the aws-auth ConfigMap. The deployer becomes cluster admin so that the
            # same `pulumi up` can install the platform layer; people come in through the OIDC provider.
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            # Standard support only: an unplanned, paid extended-support period is not a silent default.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags={"Name": args.name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, log_group]),
        )
        issuer_url = self.cluster.identities.apply(_issuer)
        self.oidc_issuer = issuer_url.apply(lambda url: url.removeprefix("https://"))
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-irsa",
            url=issuer_url,
            client_id_lists=[STS_AUDIENCE],
            tags={"Name": f"{args.name}-irsa"},
            opts=child,
        )
        if args.oidc is not None:
            self._identity_provider(name, args.name, args.oidc, child)
        self.security_group_id = self.cluster.vpc_config.apply(lambda config: config.cluster_security_group_id or "")
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.apply(lambda ca: ca.data or "")
            ).apply(lambda values: kubeconfig(values[0], values[1], values[2], args.account.region))
        )
        self.register_outputs({"clusterName": self.cluster.name, "oidcProviderArn": self.oidc_provider.arn})

    def _role(self, name: str, args: ClusterArgs) -> aws.iam.Role:
        """The cluster's service role: the EKS cluster policy, and use of the Secrets key."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-cluster",
            description=f"{args.name}: EKS control plane",
            assume_role_policy=service_trust("eks.amazonaws.com"),
            tags={"Name": f"{args.name}-cluster"},
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn=args.account.managed_policy("AmazonEKSClusterPolicy"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-secrets-key",
            role=role.id,
            policy=document(
                statement(
                    "EnvelopeEncryptionOfSecrets",
                    ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    [args.secrets_key_arn],
                )
            ),
            opts=child,
        )
        return role

    def _identity_provider(self, name: str, cluster_name: str, oidc: OidcSpec, opts: pulumi.ResourceOptions) -> None:
        """People authenticate with the organisation's OIDC provider; their groups carry the prefix
        the persona RoleBindings use. Usernames get the same prefix so that no token can claim a
        ``system:`` identity."""
        aws.eks.IdentityProviderConfig(
            f"{name}-people",
            cluster_name=self.cluster.name,
            oidc=aws.eks.IdentityProviderConfigOidcArgs(
                identity_provider_config_name="people",
                issuer_url=oidc.issuer_url,
                client_id=oidc.client_id,
                username_claim=oidc.username_claim,
                username_prefix=oidc.groups_prefix,
                groups_claim=oidc.groups_claim,
                groups_prefix=oidc.groups_prefix,
            ),
            tags={"Name": f"{cluster_name}-people"},
            opts=opts,
        )


def _issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    """The cluster's OIDC issuer URL (EKS creates exactly one)."""
    oidcs = identities[0].oidcs if identities else None
    return (oidcs[0].issuer or "") if oidcs else ""
