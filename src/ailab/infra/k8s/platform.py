"""The lab's platform layer: everything the lab runs inside Kubernetes, on either target.

``LabPlatform`` is what :func:`ailab.infra.program.lab_program` declares after the cluster
exists. It takes the spec and, on AWS, the stores the cloud provides
(:class:`~ailab.infra.contracts.ExternalMlflowStorage`); on-premises it runs them in the
cluster. All its resources use the Kubernetes provider passed in ``opts.providers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from ailab.infra.contracts import ExternalMlflowStorage, ReaperTrail
from ailab.infra.k8s import gpu, mlflow, postgres, postgres_backup, qdrant, reaper, storage, traefik
from ailab.infra.k8s.ingress import Ingresses, IngressesArgs
from ailab.infra.k8s.namespaces import PlatformNamespaces, PlatformNamespacesArgs
from ailab.infra.k8s.network import NetworkPolicies, NetworkPoliciesArgs
from ailab.infra.k8s.quota import Footprint
from ailab.infra.k8s.rbac import PersonaRbac, PersonaRbacArgs
from ailab.infra.k8s.sandbox_operator import SandboxOperator, SandboxOperatorArgs
from ailab.spec import naming
from ailab.spec.model import LabSpec


@dataclass(frozen=True)
class LabPlatformArgs:
    spec: LabSpec
    external_storage: ExternalMlflowStorage | None
    """MLflow's RDS database and S3 bucket on AWS; None on-premises (PostgreSQL and a volume in the cluster)."""
    volume_key_arn: pulumi.Input[str] | None = None
    """AWS: the KMS key that encrypts the platform's EBS volumes; None: the account's default EBS key."""
    reaper_service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """AWS: the reaper's IRSA role annotation; empty on-premises or without a reaper."""
    reaper_trail: ReaperTrail | None = None
    """AWS: where the reaper's audit trail is copied and who signs it; None on-premises or without a reaper."""


def footprints(spec: LabSpec, external_storage: bool) -> dict[str, Footprint]:
    """What each platform namespace holds, for its ResourceQuota."""
    tracking = mlflow.footprint(spec, external_artifacts=external_storage)
    if not external_storage:
        tracking += postgres.footprint(spec) + postgres_backup.footprint(spec)
    held = {
        naming.mlflow_namespace(spec): tracking,
        naming.vector_db_namespace(spec): qdrant.footprint(spec),
        naming.gpu_namespace(spec): gpu.footprint(spec),
    }
    if spec.ingress is not None and spec.ingress.installed:
        held[naming.ingress_namespace(spec)] = traefik.footprint(spec)
    if spec.sandbox.reaper is not None:
        held[naming.system_namespace(spec)] = reaper.footprint(spec)
    return held


class LabPlatform(pulumi.ComponentResource):
    """Namespaces, GPU operator, MLflow (with PostgreSQL and its backups on-premises), Qdrant, network policies, RBAC,
    the sandbox operator's roles and the reaper, ingress (with the lab's Traefik)."""

    def __init__(self, name: str, args: LabPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Platform", name, None, opts)
        spec, external = args.spec, args.external_storage
        child = pulumi.ResourceOptions(parent=self)
        namespaces = PlatformNamespaces(
            f"{name}-namespaces", PlatformNamespacesArgs(spec, footprints(spec, external is not None)), child
        ).names
        volume_class = storage.storage_class(name, spec, self, args.volume_key_arn)

        gpu.GpuOperator(f"{name}-gpu", gpu.GpuOperatorArgs(spec, namespaces[naming.gpu_namespace(spec)]), child)

        mlflow_namespace = namespaces[naming.mlflow_namespace(spec)]
        if external is None:
            database = postgres.Postgres(f"{name}-postgres", postgres.PostgresArgs(spec, mlflow_namespace, volume_class), child)
            postgres_backup.PostgresBackup(
                f"{name}-postgres-backup",
                postgres_backup.PostgresBackupArgs(spec, mlflow_namespace, volume_class, database.credentials_secret),
                child,
            )
            tracking = mlflow.MlflowArgs(
                spec, mlflow_namespace, postgres.backend_store_uri(spec), mlflow.ArtifactVolume(volume_class)
            )
        else:
            tracking = mlflow.MlflowArgs(
                spec,
                mlflow_namespace,
                external.backend_store_uri,
                external.artifacts_destination,
                external.service_account_annotations,
                external.s3_endpoint_url,
                external.database_ca_bundle,
            )
        tracking_server = mlflow.Mlflow(f"{name}-mlflow", tracking, child)

        vector_db_namespace = namespaces[naming.vector_db_namespace(spec)]
        vector_db = qdrant.Qdrant(f"{name}-qdrant", qdrant.QdrantArgs(spec, vector_db_namespace, volume_class), child)

        NetworkPolicies(f"{name}-network", NetworkPoliciesArgs(spec, namespaces, in_cluster_database=external is None), child)
        PersonaRbac(f"{name}-rbac", PersonaRbacArgs(spec, namespaces), child)
        operator = SandboxOperator(f"{name}-sandbox-operator", SandboxOperatorArgs(spec), child)
        if spec.sandbox.reaper is not None:
            reaper.Reaper(
                f"{name}-reaper",
                reaper.ReaperArgs(
                    spec,
                    spec.sandbox.reaper,
                    namespaces,
                    volume_class,
                    args.reaper_service_account_annotations,
                    args.reaper_trail,
                    # It acts as operator, and destroys sandboxes' MLflow and Qdrant resources.
                    after=[*operator.ready, tracking_server, vector_db],
                ),
                child,
            )
        if spec.ingress is not None:
            controller: list[pulumi.Resource] = []
            if spec.ingress.installed:
                installed = traefik.Traefik(
                    f"{name}-traefik",
                    traefik.TraefikArgs(spec, spec.ingress, namespaces[naming.ingress_namespace(spec)]),
                    child,
                )
                controller = [installed.ingress_class, installed.release]
            elif spec.ingress.controller == "k3s":
                configured = traefik.K3sTraefikConfig(
                    f"{name}-k3s-traefik", traefik.K3sTraefikConfigArgs(spec, spec.ingress), child
                )
                controller = [configured.config]
            Ingresses(
                f"{name}-ingress",
                IngressesArgs(
                    spec,
                    spec.ingress,
                    mlflow_namespace,
                    vector_db_namespace,
                    controller,
                    backends={"mlflow": tracking_server, "qdrant": vector_db},
                ),
                child,
            )

        self.register_outputs(
            {
                "namespaces": namespaces,
                "mlflowUrl": naming.mlflow_url(spec),
                "qdrantUrl": naming.qdrant_url(spec),
            }
        )
