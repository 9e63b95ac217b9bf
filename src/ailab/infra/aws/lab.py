"""The AWS lab: every AWS resource of an ``aws`` target, through one explicit provider.

The provider carries the region from the spec and the lab's tags as default tags, and every
child resource and lookup uses it, so nothing depends on the deployer's ambient AWS settings
and every resource that takes tags gets the owner, cost centre and data classification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ailab.infra.aws import names
from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.addons import EbsCsiDriver, EbsCsiDriverArgs, network_policy_cni
from ailab.infra.aws.api_path import TransitGatewayPath, TransitGatewayPathArgs
from ailab.infra.aws.database import Database, DatabaseArgs, rds_ca_bundle
from ailab.infra.aws.eks import Cluster, ClusterArgs
from ailab.infra.aws.evidence import EvidenceStore, EvidenceStoreArgs
from ailab.infra.aws.iam import IrsaRole, IrsaRoleArgs
from ailab.infra.aws.kms import LabKeys, LabKeysArgs
from ailab.infra.aws.network import Network, NetworkArgs, zone_names
from ailab.infra.aws.nodegroups import NodeGroups, NodeGroupsArgs
from ailab.infra.aws.sandbox_operator import SandboxOperators, SandboxOperatorsArgs
from ailab.infra.aws.storage import ArtifactBucket, ArtifactBucketArgs
from ailab.infra.contracts import (
    IRSA_ROLE_ANNOTATION,
    MLFLOW_SERVICE_ACCOUNT,
    ExternalMlflowStorage,
    ReaperTrail,
    eks_service_network,
)
from ailab.infra.tagging import aws_tags
from ailab.spec import naming
from ailab.spec.constants import ZONE_COUNT
from ailab.spec.model import AwsSettings, LabSpec, TransitGatewayAccess


@dataclass(frozen=True)
class AwsLabArgs:
    spec: LabSpec


class AwsLab(pulumi.ComponentResource):
    """Keys, network, EKS with node groups and add-ons, MLflow's bucket, database and IRSA role."""

    kubeconfig: pulumi.Output[str]
    """Secret; authenticates with ``aws eks get-token`` as whoever runs the deployment."""
    kubernetes_ready: list[pulumi.Resource]
    """What every Kubernetes object must wait for: the network path from the deployer to the API, the
    deployer's access to the cluster, the network-policy CNI, the system nodes that run the platform and
    the storage driver its volumes need."""
    cluster_name: pulumi.Output[str]
    artifact_bucket: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    volume_key_arn: pulumi.Output[str]
    """The KMS key for encrypted EBS volumes (a StorageClass's ``kmsKeyId``)."""
    mlflow_storage: ExternalMlflowStorage
    evidence_bucket: pulumi.Output[str]
    """The audit trail's write-once store (``AILAB_TRAIL_STORE=s3://<it>/trail``)."""
    trail_signing_key: pulumi.Output[str]
    """The trail's KMS signing key (``AILAB_TRAIL_SIGNING_KEY``)."""
    sandbox_operator_role_arn: pulumi.Output[str] | None
    """The IAM role sandbox operators assume instead of the deployer's (None without ``aws.sandbox_operator_principals``)."""
    reaper_service_account_annotations: dict[str, pulumi.Input[str]]
    """The reaper ServiceAccount's IRSA annotation (empty without ``sandbox.reaper``)."""
    reaper_trail: ReaperTrail | None
    """Where the reaper's audit trail is copied and who signs it (None without ``sandbox.reaper``)."""

    def __init__(self, name: str, args: AwsLabArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Lab", name, None, opts)
        spec = args.spec
        settings = spec.aws_settings()
        provider = aws.Provider(
            f"{name}-aws",
            region=settings.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=aws_tags(spec)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"aws": provider})
        account = AwsAccount.lookup(settings.region, provider, self)
        keys = LabKeys(
            f"{name}-keys",
            LabKeysArgs(spec.name, account, settings.kms_deletion_window_days, names.log_groups(spec)),
            opts=child,
        )
        network = Network(
            f"{name}-network",
            NetworkArgs(
                lab_name=spec.name,
                account=account,
                vpc_cidr=settings.vpc_cidr,
                zones=_zones(settings, provider, self),
                flow_log_group=names.flow_log_group(spec),
                log_retention_days=settings.log_retention_days,
                logs_key_arn=keys.logs.arn,
            ),
            opts=child,
        )
        private_subnets = [subnet.id for subnet in network.private_subnets]
        cluster = Cluster(
            f"{name}-eks",
            ClusterArgs(
                name=spec.cluster.name,
                kubernetes_version=spec.cluster.kubernetes_version,
                account=account,
                vpc_id=network.vpc.id,
                vpc_cidr=settings.vpc_cidr,
                subnet_ids=private_subnets,
                api_networks=settings.api_networks,
                public_access_cidrs=settings.public_api_cidrs,
                service_network=eks_service_network(settings.vpc_cidr),
                secrets_key_arn=keys.secrets.arn,
                logs_key_arn=keys.logs.arn,
                log_group=names.eks_log_group(spec),
                log_retention_days=settings.log_retention_days,
                oidc=spec.access.oidc,
                deployer_role_arn=settings.deployer_role_arn,
            ),
            opts=child,
        )
        api_path = _api_path(name, spec.name, settings, network, child)
        cni = network_policy_cni(f"{name}-vpc-cni", cluster.cluster, child)
        nodes = NodeGroups(
            f"{name}-nodes",
            NodeGroupsArgs(
                lab_name=spec.name,
                cluster=cluster.cluster,
                account=account,
                subnet_ids=private_subnets,
                security_group_id=cluster.security_group_id,
                volume_key_arn=keys.data.arn,
                system_pool=spec.system_pool,
                gpu_pools=spec.gpu_pools,
                launch_tags=aws_tags(spec),
                # Nodes join with policy enforcement already on: no pod ever runs unisolated.
                after=[cni],
            ),
            opts=child,
        )
        system_nodes = nodes.groups[spec.system_pool.name]
        # Only the system nodes: the driver's controller runs there, and a GPU group whose capacity the
        # region cannot supply yet (p5) must not hold up storage, nor with it the whole platform.
        ebs_csi = EbsCsiDriver(
            f"{name}-ebs-csi",
            EbsCsiDriverArgs(
                cluster=cluster.cluster,
                account=account,
                oidc_provider_arn=cluster.oidc_provider.arn,
                oidc_issuer=cluster.oidc_issuer,
                volume_key_arn=keys.data.arn,
                nodes=[system_nodes],
            ),
            opts=child,
        )
        bucket = ArtifactBucket(
            f"{name}-artifacts",
            ArtifactBucketArgs(spec.name, account, keys.data.arn, spec.mlflow.artifacts),
            opts=child,
        )
        # Before the evidence store: its signing key names the reaper's role as a signer.
        operators = SandboxOperators(
            f"{name}-operators",
            SandboxOperatorsArgs(
                lab_name=spec.name,
                cluster_name=cluster.cluster.name,
                account=account,
                group=naming.sandbox_operator_group(spec),
                principals=settings.sandbox_operator_principals,
                reaper=spec.sandbox.reaper,
                reaper_namespace=naming.system_namespace(spec),
                reaper_service_account=naming.REAPER,
                oidc_provider_arn=cluster.oidc_provider.arn,
                oidc_issuer=cluster.oidc_issuer,
            ),
            opts=child,
        )
        evidence = EvidenceStore(
            f"{name}-evidence",
            EvidenceStoreArgs(
                spec.name,
                account,
                keys.data.arn,
                spec.evidence,
                settings.kms_deletion_window_days,
                reaper_role_arn=operators.reaper_role_arn,
            ),
            opts=child,
        )
        self.reaper_trail = None
        if operators.reaper_role_arn is not None:
            self.reaper_trail = ReaperTrail(
                evidence_bucket=evidence.bucket.bucket,
                signing_key_arn=evidence.signing_key.arn,
                bucket_key_arn=keys.data.arn,
                s3_endpoint_url=network.s3_endpoint_url,
            )
            operators.grant_reaper_trail(self.reaper_trail)
        database = Database(
            f"{name}-mlflow-db",
            DatabaseArgs(
                identifier=names.db_identifier(spec),
                settings=spec.mlflow.database,
                vpc_id=network.vpc.id,
                subnet_ids=private_subnets,
                client_security_group_id=cluster.security_group_id,
                kms_key_arn=keys.data.arn,
                logs_key_arn=keys.logs.arn,
                log_groups={export: names.db_log_group(spec, export) for export in names.DB_LOG_EXPORTS},
                log_retention_days=settings.log_retention_days,
            ),
            opts=child,
        )
        mlflow_role = IrsaRole(
            f"{name}-mlflow",
            IrsaRoleArgs(
                namespace=naming.mlflow_namespace(spec),
                service_account=MLFLOW_SERVICE_ACCOUNT,
                oidc_provider_arn=cluster.oidc_provider.arn,
                oidc_issuer=cluster.oidc_issuer,
                account=account,
                policy=bucket.access_policy(),
            ),
            opts=child,
        )
        self.sandbox_operator_role_arn = operators.operator_role_arn
        self.reaper_service_account_annotations = (
            {IRSA_ROLE_ANNOTATION: operators.reaper_role_arn} if operators.reaper_role_arn is not None else {}
        )
        self.kubeconfig = cluster.kubeconfig
        self.kubernetes_ready = [*api_path, *cluster.deployer_access, cni, system_nodes, ebs_csi.addon]
        self.cluster_name = cluster.cluster.name
        self.artifact_bucket = bucket.name
        self.vpc_id = network.vpc.id
        self.volume_key_arn = keys.data.arn
        self.evidence_bucket = evidence.bucket.bucket
        self.trail_signing_key = evidence.signing_key.arn
        self.mlflow_storage = ExternalMlflowStorage(
            backend_store_uri=database.backend_store_uri,
            artifacts_destination=bucket.destination,
            service_account_annotations={IRSA_ROLE_ANNOTATION: mlflow_role.role.arn},
            s3_endpoint_url=network.s3_endpoint_url,
            database_ca_bundle=rds_ca_bundle(settings.region),
        )
        self.register_outputs(
            {
                "kubeconfig": self.kubeconfig,
                "clusterName": self.cluster_name,
                "artifactBucket": self.artifact_bucket,
                "vpcId": self.vpc_id,
                "mlflowRoleArn": mlflow_role.role.arn,
                "evidenceBucket": self.evidence_bucket,
                "trailSigningKey": self.trail_signing_key,
            }
        )


def _api_path(
    name: str, lab_name: str, settings: AwsSettings, network: Network, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """The declared path from the deployer's networks to the private endpoint (none to build for a public endpoint)."""
    access = settings.api_access
    if not isinstance(access, TransitGatewayAccess):
        return []
    path = TransitGatewayPath(
        f"{name}-api-path",
        TransitGatewayPathArgs(
            lab_name=lab_name,
            transit_gateway_id=access.transit_gateway_id,
            vpc_id=network.vpc.id,
            subnet_ids=[subnet.id for subnet in network.private_subnets],
            route_table_ids=[table.id for table in network.private_route_tables],
            networks=access.networks,
        ),
        opts=opts,
    )
    return path.ready


def _zones(settings: AwsSettings, provider: aws.Provider, parent: pulumi.Resource) -> list[pulumi.Input[str]]:
    """The spec's zones, else the first three of the region that need no opt-in (no Local Zones)."""
    if settings.availability_zones is not None:
        return list(settings.availability_zones)
    available = aws.get_availability_zones_output(
        state="available",
        filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
        opts=pulumi.InvokeOutputOptions(provider=provider, parent=parent),
    )
    chosen = available.names.apply(zone_names)
    return [chosen.apply(_nth(index)) for index in range(ZONE_COUNT)]


def _nth(index: int) -> Callable[[list[str]], str]:
    return lambda zones: zones[index]
