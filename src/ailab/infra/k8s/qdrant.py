"""Qdrant, the lab's vector database: API key from a Secret, JWT RBAC on, persistent, hardened.

Sandboxes never get the API key: the sandbox program signs collection-scoped JWTs with it
(``QDRANT__SERVICE__JWT_RBAC``), which Qdrant verifies with the same key. An optional read-only
key is for dashboards. Anonymous telemetry to Qdrant's servers is turned off.

Storage and snapshots share one volume per replica (two sub-paths), so snapshots survive a
restart and cannot fill the node's disk through an emptyDir. With more than one replica Qdrant
runs in cluster mode: pod 0 starts the cluster and the others join it over the peer port, each
announcing its stable name under the headless Service. The image's health endpoints
(``/livez``, ``/readyz``) answer without the API key, so probes need no credential.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, pods
from ailab.infra.k8s.quota import Footprint
from ailab.spec import naming
from ailab.spec.model import LabSpec

APP = "qdrant"
HEADLESS_SERVICE = "qdrant-headless"
KEYS_SECRET = "qdrant-api-keys"
P2P_PORT = 6335
RUN_AS = pods.RunAs(uid=1000, gid=2000)
INIT = pods.Scratch("init", "/qdrant/init", size_limit="1Mi")
"""Qdrant writes a marker file when it has initialised; the working directory is read-only."""
STORAGE_VOLUME = "storage"


def footprint(spec: LabSpec) -> Footprint:
    replicas = spec.vector_db.replicas
    return Footprint.of_pods(replicas, spec.vector_db.resources) + Footprint.of_volumes(*[spec.vector_db.storage_size] * replicas)


def cluster_command(spec: LabSpec) -> list[str] | None:
    """The start command in cluster mode (replicas > 1), else None (the image's entrypoint)."""
    if spec.vector_db.replicas == 1:
        return None
    namespace = naming.vector_db_namespace(spec)

    def peer(pod: str) -> str:
        return f"http://{pod}.{HEADLESS_SERVICE}.{namespace}.svc.cluster.local:{P2P_PORT}"

    script = (
        f'if [ "${{HOSTNAME##*-}}" = "0" ]; then exec ./entrypoint.sh --uri "{peer("$HOSTNAME")}"; '
        f'else exec ./entrypoint.sh --bootstrap "{peer(f"{APP}-0")}" --uri "{peer("$HOSTNAME")}"; fi'
    )
    return ["/bin/sh", "-c", script]


@dataclass(frozen=True)
class QdrantArgs:
    spec: LabSpec
    namespace: pulumi.Input[str]
    storage_class: pulumi.Input[str]


class Qdrant(pulumi.ComponentResource):
    """Secret with the API keys, ServiceAccount, client and headless Services, StatefulSet with volume claims."""

    def __init__(self, name: str, args: QdrantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Qdrant", name, None, opts)
        spec, namespace = args.spec, args.namespace
        vector_db = spec.vector_db
        keys: dict[str, pulumi.Input[str]] = {"api-key": meta.secret(vector_db.api_key.get_secret_value())}
        if vector_db.read_only_api_key is not None:
            keys["read-only-api-key"] = meta.secret(vector_db.read_only_api_key.get_secret_value())
        secret = k8s.core.v1.Secret(
            f"{name}-api-keys",
            metadata=meta.object_meta(spec, KEYS_SECRET, meta.VECTOR_DATABASE, namespace),
            type="Opaque",
            string_data=keys,
            opts=pulumi.ResourceOptions(parent=self),
        )
        account = pods.workload_service_account(
            f"{name}-sa", spec, name=APP, namespace=namespace, component=meta.VECTOR_DATABASE, parent=self
        )
        selector = meta.selector_labels(spec, APP)
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta.object_meta(spec, APP, meta.VECTOR_DATABASE, namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(name="http", port=naming.QDRANT_HTTP_PORT, target_port="http"),
                    k8s.core.v1.ServicePortArgs(name="grpc", port=naming.QDRANT_GRPC_PORT, target_port="grpc"),
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata=meta.object_meta(spec, HEADLESS_SERVICE, meta.VECTOR_DATABASE, namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                # Peers must resolve each other before they are ready, or a cluster never forms.
                publish_not_ready_addresses=True,
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="p2p", port=P2P_PORT, target_port="p2p")],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=meta.object_meta(spec, APP, meta.VECTOR_DATABASE, namespace),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                replicas=vector_db.replicas,
                service_name=meta.name_of(headless),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=meta.object_meta(
                        spec, None, meta.VECTOR_DATABASE, extra_labels=selector, extra_annotations=meta.config_checksum(keys)
                    ),
                    spec=pods.hardened_pod_spec(
                        run_as=RUN_AS,
                        service_account=meta.name_of(account),
                        containers=[self._container(spec, meta.name_of(secret))],
                        volumes=[INIT.volume(), pods.TMP.volume()],
                        spec=spec,
                        # Qdrant flushes its write-ahead log on SIGTERM.
                        termination_grace_seconds=60,
                    ),
                ),
                volume_claim_templates=[
                    k8s.core.v1.PersistentVolumeClaimArgs(
                        metadata=meta.object_meta(spec, STORAGE_VOLUME, meta.VECTOR_DATABASE),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=args.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": vector_db.storage_size}),
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"url": naming.qdrant_url(spec)})

    @staticmethod
    def _container(spec: LabSpec, keys_secret: pulumi.Input[str]) -> k8s.core.v1.ContainerArgs:
        vector_db = spec.vector_db
        settings = {
            "QDRANT__SERVICE__JWT_RBAC": "true",
            "QDRANT__TELEMETRY_DISABLED": "true",
            # No browser on another origin needs the API; the dashboard is served by Qdrant itself.
            "QDRANT__SERVICE__ENABLE_CORS": "false",
            "QDRANT__STORAGE__STORAGE_PATH": "/qdrant/storage",
            "QDRANT__STORAGE__SNAPSHOTS_PATH": "/qdrant/snapshots",
            "QDRANT_INIT_FILE_PATH": f"{INIT.mount_path}/.qdrant-initialized",
        }
        if vector_db.replicas > 1:
            settings |= {"QDRANT__CLUSTER__ENABLED": "true", "QDRANT__CLUSTER__P2P__PORT": str(P2P_PORT)}
        env = [*pods.plain_env(settings), pods.secret_env("QDRANT__SERVICE__API_KEY", keys_secret, "api-key")]
        if vector_db.read_only_api_key is not None:
            env.append(pods.secret_env("QDRANT__SERVICE__READ_ONLY_API_KEY", keys_secret, "read-only-api-key"))
        return k8s.core.v1.ContainerArgs(
            name=APP,
            image=f"docker.io/qdrant/qdrant:{vector_db.qdrant_version}",
            image_pull_policy="IfNotPresent",
            command=cluster_command(spec),
            ports=[
                k8s.core.v1.ContainerPortArgs(name="http", container_port=naming.QDRANT_HTTP_PORT),
                k8s.core.v1.ContainerPortArgs(name="grpc", container_port=naming.QDRANT_GRPC_PORT),
                k8s.core.v1.ContainerPortArgs(name="p2p", container_port=P2P_PORT),
            ],
            env=env,
            resources=pods.guaranteed_resources(vector_db.resources),
            security_context=pods.container_security_context(RUN_AS),
            volume_mounts=[
                k8s.core.v1.VolumeMountArgs(name=STORAGE_VOLUME, mount_path="/qdrant/storage", sub_path="storage"),
                k8s.core.v1.VolumeMountArgs(name=STORAGE_VOLUME, mount_path="/qdrant/snapshots", sub_path="snapshots"),
                INIT.mount(),
                pods.TMP.mount(),
            ],
            # Loading large collections after a restart can take minutes.
            startup_probe=pods.http_probe("/livez", "http", initial_delay=5, failures=60),
            readiness_probe=pods.http_probe("/readyz", "http", initial_delay=0),
            liveness_probe=pods.http_probe("/livez", "http", initial_delay=0, period=20),
        )
