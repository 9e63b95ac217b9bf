"""The EKS control plane: a private API endpoint (and a public one only for listed networks), every control-plane log type, Secrets
encrypted with a rotating KMS key, an IAM OIDC provider for IRSA and, when the spec names one,
the organisation's identity provider for people.

**Who administers the cluster.** Authentication is by access entries only. With
``aws.deployer_role_arn`` in the spec, EKS's implicit creator entry is off and the deployer role
gets an explicit entry with the cluster-admin access policy: visible in the stack and the plan,
reviewed (policy rule AILAB-RBAC-003 reports it, to be waived with its justification: the same
``pulumi up`` installs CRDs, ClusterRoles and a Helm chart, which only a cluster admin can), and
changed through the stack like any other grant. Without it EKS's creator entry for whoever
created the cluster stays, outside the stack, as before. The Service network is named
explicitly (:func:`~ailab.infra.contracts.eks_service_network`) so the platform layer knows the
API server's ClusterIP for its network policies.
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
CLUSTER_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"


@dataclass(frozen=True)
class ClusterArgs:
    name: str
    kubernetes_version: str
    account: AwsAccount
    vpc_id: pulumi.Input[str]
    vpc_cidr: IPv4Network
    subnet_ids: Sequence[pulumi.Input[str]]
    api_networks: Sequence[IPv4Network]
    """Networks besides the VPC (those behind the Transit Gateway) that reach the private endpoint on 443."""
    public_access_cidrs: Sequence[IPv4Network]
    """Networks allowed to the public endpoint; empty keeps the endpoint private only."""
    service_network: IPv4Network
    """The cluster's Service (ClusterIP) network; must not overlap the VPC."""
    secrets_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    log_group: str
    log_retention_days: int
    oidc: OidcSpec | None
    deployer_role_arn: str | None
    """The role that deploys the lab, given cluster admin explicitly; None keeps EKS's implicit creator entry."""


class Cluster(pulumi.ComponentResource):
    """An EKS cluster reachable only from inside the VPC, the networks behind its declared path and, if declared, listed public networks."""

    cluster: aws.eks.Cluster
    oidc_provider: aws.iam.OpenIdConnectProvider
    oidc_issuer: pulumi.Output[str]
    """The issuer without ``https://``: the prefix of IRSA trust-policy condition keys."""
    security_group_id: pulumi.Output[str]
    """The security group EKS creates and puts on managed nodes and control-plane interfaces."""
    kubeconfig: pulumi.Output[str]
    deployer_access: list[pulumi.Resource]
    """What must exist before the deployer's kubeconfig works: its access entry and policy (empty without a deployer role)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role, role_grants = self._role(name, args)
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
                    cidr_blocks=[str(args.vpc_cidr), *(str(network) for network in args.api_networks)],
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
                # Nodes and the VPC always use the private endpoint. The public one is on only when the spec
                # declares it (api_access.kind: public), and then for its listed networks only: EKS's
                # default for a public endpoint without a list is 0.0.0.0/0.
                endpoint_private_access=True,
                endpoint_public_access=bool(args.public_access_cidrs),
                public_access_cidrs=[str(network) for network in args.public_access_cidrs] or None,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_key_arn)
            ),
            # Access entries, not the aws-auth ConfigMap; people come in through the OIDC provider. The
            # deployer is cluster admin (the same `pulumi up` installs the platform layer): explicitly
            # when the spec names its role, else through EKS's creator entry (see the module's docstring).
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=args.deployer_role_arn is None
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                ip_family="ipv4", service_ipv4_cidr=str(args.service_network)
            ),
            # Standard support only: an unplanned, paid extended-support period is not a silent default.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            tags={"Name": args.name},
            # The role's grants, not just the role: EKS checks the cluster policy and the Secrets key at
            # creation (AWS's own examples order it so), and on destroy they outlive the cluster.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, *role_grants, log_group]),
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
        self.deployer_access = (
            self._deployer_access(name, args.name, args.deployer_role_arn, args.account) if args.deployer_role_arn else []
        )
        self.security_group_id = self.cluster.vpc_config.apply(lambda config: config.cluster_security_group_id or "")
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.apply(lambda ca: ca.data or "")
            ).apply(lambda values: kubeconfig(values[0], values[1], values[2], args.account.region))
        )
        self.register_outputs({"clusterName": self.cluster.name, "oidcProviderArn": self.oidc_provider.arn})

    def _role(self, name: str, args: ClusterArgs) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The cluster's service role and its grants: the EKS cluster policy, and use of the Secrets key."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-cluster",
            description=f"{args.name}: EKS control plane",
            assume_role_policy=service_trust("eks.amazonaws.com"),
            tags={"Name": f"{args.name}-cluster"},
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn=args.account.managed_policy("AmazonEKSClusterPolicy"),
            opts=child,
        )
        secrets_key = aws.iam.RolePolicy(
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
        return role, [cluster_policy, secrets_key]

    def _deployer_access(self, name: str, cluster_name: str, role_arn: str, account: AwsAccount) -> list[pulumi.Resource]:
        """An access entry for the deployer role and the cluster-admin access policy on the whole cluster."""
        entry = aws.eks.AccessEntry(
            f"{name}-deployer",
            cluster_name=self.cluster.name,
            principal_arn=role_arn,
            type="STANDARD",
            tags={"Name": f"{cluster_name}-deployer"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        admin = aws.eks.AccessPolicyAssociation(
            f"{name}-deployer-admin",
            cluster_name=self.cluster.name,
            principal_arn=entry.principal_arn,
            policy_arn=pulumi.Output.format(
                "arn:{0}:eks::aws:cluster-access-policy/{1}", account.partition, CLUSTER_ADMIN_ACCESS_POLICY
            ),
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [entry, admin]

    def _identity_provider(self, name: str, cluster_name: str, oidc: OidcSpec, opts: pulumi.ResourceOptions) -> None:
        """People authenticate with the organisation's OIDC provider; their groups carry the prefix
        the persona RoleBindings use, and usernames theirs (which sandbox RoleBindings use), so that
        no token can claim a ``system:`` identity."""
        aws.eks.IdentityProviderConfig(
            f"{name}-people",
            cluster_name=self.cluster.name,
            oidc=aws.eks.IdentityProviderConfigOidcArgs(
                identity_provider_config_name="people",
                issuer_url=oidc.issuer_url,
                client_id=oidc.client_id,
                username_claim=oidc.username_claim,
                username_prefix=oidc.username_prefix,
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
