"""On-premises only: MLflow's backend store, a single PostgreSQL in the MLflow namespace.

Hardened like every platform workload (:mod:`.pods`): the official image runs as its
``postgres`` user (uid 999) with a read-only root filesystem, writing only to its volume, the
socket directory, ``/tmp`` and ``/dev/shm``. The password comes from the spec
(``mlflow.database.password``) through a Secret; only MLflow's pods may connect (see :mod:`.network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, pods
from ailab.infra.k8s.quota import Footprint
from ailab.spec import naming
from ailab.spec.model import LabSpec

APP = "postgres"
DATABASE = "mlflow"
USER = "mlflow"
CREDENTIALS_SECRET = "postgres-credentials"
RUN_AS = pods.RunAs(uid=999, gid=999)
"""The ``postgres`` user and group of the official Debian-based image."""
DATA_DIR = "/var/lib/postgresql/data"
SOCKET_DIR = pods.Scratch("run", "/var/run/postgresql", size_limit="1Mi")
SHARED_MEMORY = pods.Scratch("shm", "/dev/shm", size_limit="256Mi", in_memory=True)
"""PostgreSQL's parallel queries use POSIX shared memory; a container's default /dev/shm is 64 MiB."""


def footprint(spec: LabSpec) -> Footprint:
    return Footprint.of_pods(1, spec.mlflow.database.resources) + Footprint.of_volumes(spec.mlflow.database.storage_size)


def host(spec: LabSpec) -> str:
    return f"{APP}.{naming.mlflow_namespace(spec)}.svc.cluster.local"


def database_uri(spec: LabSpec) -> str:
    """MLflow's SQLAlchemy URI of this database, with the password (percent-encoded)."""
    password = quote(spec.mlflow.database.password.get_secret_value(), safe="")
    return f"postgresql://{USER}:{password}@{host(spec)}:{naming.POSTGRES_PORT}/{DATABASE}"


def backend_store_uri(spec: LabSpec) -> pulumi.Output[str]:
    """:func:`database_uri` as a secret Output."""
    return meta.secret(database_uri(spec))


@dataclass(frozen=True)
class PostgresArgs:
    spec: LabSpec
    namespace: pulumi.Input[str]
    storage_class: pulumi.Input[str]


PASSWORD_WAIT_SECONDS = 120


SERVER_STDERR = "/proc/1/fd/2"


def apply_password_command(socket_dir: str = SOCKET_DIR.mount_path, log: str = SERVER_STDERR) -> list[str]:
    """Wait for the server, then set the role's password from ``POSTGRES_PASSWORD``.

    The official image trusts connections over the local socket, so no old password is needed. The
    password travels through the environment into psql (``\\getenv``, psql 15 and later), never as
    an argument (visible in the process list) nor in the statement log. A server that is not up in
    :data:`PASSWORD_WAIT_SECONDS` (a first start's initdb, which takes the password itself) is left
    to its probes. What psql says goes to the server's own stderr (:data:`SERVER_STDERR`), so a failure
    shows in ``kubectl logs``, without killing the database (a failed postStart hook would).
    """
    script = (
        f"for i in $(seq {PASSWORD_WAIT_SECONDS}); do "
        f"pg_isready --host={socket_dir} --username={USER} --dbname={DATABASE} >/dev/null 2>&1 && break; sleep 1; done; "
        "printf '%s\\n' '\\getenv new_password POSTGRES_PASSWORD' "
        f"\"ALTER ROLE {USER} PASSWORD :'new_password';\" "
        f"| psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --host={socket_dir} --username={USER} --dbname={DATABASE} "
        f">>{log} 2>&1 || echo 'ailab: could not apply the rotated password of the role {USER}' >>{log}; true"
    )
    return ["/bin/sh", "-c", script]


class Postgres(pulumi.ComponentResource):
    """Secret, ServiceAccount, headless Service and a one-replica StatefulSet with its data volume."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Postgres", name, None, opts)
        spec, namespace = args.spec, args.namespace
        credentials_data: dict[str, pulumi.Input[str]] = {
            "password": meta.secret(spec.mlflow.database.password.get_secret_value())
        }
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=meta.object_meta(spec, CREDENTIALS_SECRET, meta.DATABASE, namespace),
            type="Opaque",
            string_data=credentials_data,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.credentials_secret = meta.name_of(credentials)
        account = pods.workload_service_account(
            f"{name}-sa", spec, name=APP, namespace=namespace, component=meta.DATABASE, parent=self
        )
        selector = meta.selector_labels(spec, APP)
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta.object_meta(spec, APP, meta.DATABASE, namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                # Headless: the StatefulSet's governing service; its one pod is the address.
                cluster_ip="None",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name=APP, port=naming.POSTGRES_PORT, target_port=APP)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=meta.object_meta(spec, APP, meta.DATABASE, namespace),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                replicas=1,
                service_name=meta.name_of(service),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=meta.object_meta(
                        spec, None, meta.DATABASE, extra_labels=selector, extra_annotations=meta.config_checksum(credentials_data)
                    ),
                    spec=pods.hardened_pod_spec(
                        run_as=RUN_AS,
                        service_account=meta.name_of(account),
                        containers=[self._container(spec, self.credentials_secret)],
                        volumes=[SOCKET_DIR.volume(), pods.TMP.volume(), SHARED_MEMORY.volume()],
                        spec=spec,
                        # A clean shutdown checkpoints; a killed one replays WAL on the next start.
                        termination_grace_seconds=60,
                    ),
                ),
                volume_claim_templates=[
                    k8s.core.v1.PersistentVolumeClaimArgs(
                        metadata=meta.object_meta(spec, "data", meta.DATABASE),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=args.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(
                                requests={"storage": spec.mlflow.database.storage_size}
                            ),
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"host": host(spec)})

    @staticmethod
    def _container(spec: LabSpec, credentials_secret: pulumi.Input[str]) -> k8s.core.v1.ContainerArgs:
        ready = ["pg_isready", "--host=127.0.0.1", f"--port={naming.POSTGRES_PORT}", f"--username={USER}", f"--dbname={DATABASE}"]
        return k8s.core.v1.ContainerArgs(
            name=APP,
            image=spec.mlflow.database.image,
            image_pull_policy="IfNotPresent",
            ports=[k8s.core.v1.ContainerPortArgs(name=APP, container_port=naming.POSTGRES_PORT)],
            env=[
                *pods.plain_env(
                    {
                        "POSTGRES_USER": USER,
                        "POSTGRES_DB": DATABASE,
                        # A subdirectory: the volume's root may hold lost+found, which initdb refuses.
                        "PGDATA": f"{DATA_DIR}/pgdata",
                        "POSTGRES_HOST_AUTH_METHOD": "scram-sha-256",
                    }
                ),
                pods.secret_env("POSTGRES_PASSWORD", credentials_secret, "password"),
            ],
            resources=pods.guaranteed_resources(spec.mlflow.database.resources),
            security_context=pods.container_security_context(RUN_AS),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_DIR),
                SOCKET_DIR.mount(),
                pods.TMP.mount(),
                SHARED_MEMORY.mount(),
            ],
            # POSTGRES_PASSWORD is read by initdb only: a changed password (which rolls this pod through
            # the config checksum) is applied to the running database here, over the local socket.
            lifecycle=k8s.core.v1.LifecycleArgs(
                post_start=k8s.core.v1.LifecycleHandlerArgs(exec_=k8s.core.v1.ExecActionArgs(command=apply_password_command()))
            ),
            readiness_probe=k8s.core.v1.ProbeArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=ready), initial_delay_seconds=5, period_seconds=10, timeout_seconds=5
            ),
            liveness_probe=k8s.core.v1.ProbeArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=ready),
                initial_delay_seconds=30,
                period_seconds=20,
                timeout_seconds=5,
                failure_threshold=6,
            ),
        )
