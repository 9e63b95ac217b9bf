"""On-premises only: daily logical backups of MLflow's PostgreSQL, kept ``mlflow.database.backup_retention_days``.

RDS keeps its own automated backups on AWS; in the cluster a CronJob runs ``pg_dump`` (custom
format, compressed) into a volume of its own and deletes dumps older than the retention. The
job is hardened like the database it reads (same image, same uid, read-only root) and may
reach only the database (see :mod:`.network`). The dumps protect against logical damage (a bad
migration, a wrong deletion); copying them off the node is the site's backup system's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import jobs, meta, pods, postgres
from ailab.infra.k8s.quota import Footprint
from ailab.infra.k8s.storage import volume_claim
from ailab.spec import naming
from ailab.spec.model import LabSpec, Resources

APP = "postgres-backup"
CLAIM = "postgres-backups"
BACKUP_DIR = "/backups"
SCHEDULE = "17 2 * * *"
"""Daily at 02:17 UTC: off the hour, when nobody evaluates models."""
RESOURCES = Resources(cpu="250m", memory="512Mi")

# Writes to a temporary name first, so a failed dump never replaces nor looks like a good one.
SCRIPT = """set -eu
name="$BACKUP_DIR/mlflow-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --file="$name.partial"
mv "$name.partial" "$name"
find "$BACKUP_DIR" -name 'mlflow-*.dump*' -mmin +$((RETENTION_DAYS * 1440)) -delete
"""


def volume_size(spec: LabSpec) -> str:
    """The backup volume: ``backup_storage_size``, else the size of the database's (compressed dumps of several days fit)."""
    database = spec.mlflow.database
    return database.backup_storage_size or database.storage_size


def footprint(spec: LabSpec) -> Footprint:
    """One job pod at a time, and the backup volume."""
    return Footprint.of_pods(1, RESOURCES) + Footprint.of_volumes(volume_size(spec))


@dataclass(frozen=True)
class PostgresBackupArgs:
    spec: LabSpec
    namespace: pulumi.Input[str]
    storage_class: pulumi.Input[str]
    credentials_secret: pulumi.Input[str]
    """The Secret with the database's ``password``."""


class PostgresBackup(pulumi.ComponentResource):
    """Backup volume, ServiceAccount and the CronJob that fills and prunes it."""

    def __init__(self, name: str, args: PostgresBackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:PostgresBackup", name, None, opts)
        spec, namespace = args.spec, args.namespace
        claim = volume_claim(
            f"{name}-volume",
            spec,
            claim_name=CLAIM,
            component=meta.DATABASE,
            namespace=namespace,
            storage_class=args.storage_class,
            size=volume_size(spec),
            parent=self,
        )
        account = pods.workload_service_account(
            f"{name}-sa", spec, name=APP, namespace=namespace, component=meta.DATABASE, parent=self
        )
        pod = pods.hardened_pod_spec(
            run_as=postgres.RUN_AS,
            service_account=meta.name_of(account),
            containers=[self._container(spec, args.credentials_secret)],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="backups",
                    persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=meta.name_of(claim)),
                ),
                pods.TMP.volume(),
            ],
            spec=spec,
            restart_policy="OnFailure",
        )
        jobs.cron_job(
            f"{name}-cronjob",
            spec,
            app=APP,
            component=meta.DATABASE,
            namespace=namespace,
            schedule=jobs.Schedule(SCHEDULE, starting_deadline_seconds=3600, active_deadline_seconds=3600, backoff_limit=2),
            pod=pod,
            parent=self,
        )
        self.register_outputs({"schedule": SCHEDULE})

    @staticmethod
    def _container(spec: LabSpec, credentials_secret: pulumi.Input[str]) -> k8s.core.v1.ContainerArgs:
        settings = {
            "PGHOST": postgres.host(spec),
            "PGPORT": str(naming.POSTGRES_PORT),
            "PGUSER": postgres.USER,
            "PGDATABASE": postgres.DATABASE,
            "BACKUP_DIR": BACKUP_DIR,
            "RETENTION_DAYS": str(spec.mlflow.database.backup_retention_days),
        }
        return k8s.core.v1.ContainerArgs(
            name=APP,
            image=spec.mlflow.database.image,
            image_pull_policy="IfNotPresent",
            command=["/bin/sh", "-c", SCRIPT],
            env=[*pods.plain_env(settings), pods.secret_env("PGPASSWORD", credentials_secret, "password")],
            resources=pods.guaranteed_resources(RESOURCES),
            security_context=pods.container_security_context(postgres.RUN_AS),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="backups", mount_path=BACKUP_DIR), pods.TMP.mount()],
        )
