"""The reaper: expiry enforced inside the cluster, so an expired sandbox goes even when no workstation runs ``ailab sandbox reap``.

A CronJob ``ailab-reaper`` in the lab's system namespace runs ``ailab sandbox reap`` every
``sandbox.reaper.every_minutes`` from the ailab operator image (``docker/ailab-operator``: ailab,
the Pulumi CLI and the plugins the sandbox stacks use), pinned by digest. It reads the sandboxes'
stacks from their state backend, and destroys each expired one as a sandbox operator would:

* **Kubernetes identity**: its own ServiceAccount, bound to the sandbox operator's roles
  (:mod:`.sandbox_operator`), never cluster-admin. On AWS the sandbox stacks reach the cluster
  with the lab's kubeconfig (``aws eks get-token``), which in the pod runs as the reaper's IRSA
  role, mapped by its EKS access entry into the same operator group. On-premises a kubeconfig
  of this module points the lab's context name at the API server with the pod's own token.
* **State**: ``AILAB_BACKEND_URL`` is ``sandbox.reaper.state_backend``; on AWS the IRSA role may
  use only that prefix of the bucket and its key. The stacks' passphrase is a file from the
  Secret ``passphrase_secret``, which an operator makes with kubectl (it never enters the lab's
  state).
* **Services**: the sandbox's MLflow and Qdrant resources are deleted through the services'
  in-cluster admin URLs (the variables of :mod:`ailab.spec.service_env`).
* **Audit trail**: every destroy appends to ailab's trail (docs/audit-trail.md). Its directories
  (``audit/`` and the local key's ``keys/``) live on a small ``ReadWriteOnce`` volume of the
  platform's (encrypted) class, linked into each run's data directory (:func:`command`), so the log
  and its key outlive the pod. The first run on a new volume creates both; a run on another node
  finds them where the last one left them (the volume follows the pod; one run at a time, so one
  writer). On AWS each run also copies its records and signed checkpoints
  write-once to the evidence bucket under ``trail/reaper`` (Object Lock, the spec's evidence
  retention) through the VPC's S3 endpoint, and the checkpoints are signed by the lab's trail KMS
  key (:class:`~ailab.infra.contracts.ReaperTrail`); on-premises, to ``trail_store`` if set.
* **Network**: the system namespace denies everything (:mod:`.network`); the policies here let
  the reaper reach MLflow, Qdrant, the API server and the state backend (on AWS the VPC: the S3,
  STS and KMS endpoints), and admit it at MLflow and Qdrant.

The pod runs PSA-``restricted``: non-root, read-only root filesystem, no capabilities; writable are
``/tmp`` (ailab's data directory and the Pulumi workspace, per run) and the trail volume
(``fsGroup`` makes it writable by the ``ailab`` user).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.contracts import ReaperTrail
from ailab.infra.k8s import jobs, meta, mlflow, pods, qdrant
from ailab.infra.k8s.network import (
    HTTPS_PORT,
    admin_egress,
    api_server_egress,
    cidr_peers,
    namespace_peer,
    network_policy,
    tcp,
)
from ailab.infra.k8s.quota import Footprint
from ailab.infra.k8s.storage import volume_claim
from ailab.spec import naming
from ailab.spec.model import LabSpec, ReaperSettings
from ailab.spec.service_env import MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV

APP = naming.REAPER
RUN_AS = pods.RunAs(uid=10001, gid=10001)
"""The ``ailab`` user of the operator image (docker/ailab-operator/Dockerfile)."""
KUBECONFIG_MOUNT = "/etc/ailab/kubeconfig"
TOKEN_MOUNT = "/var/run/secrets/ailab/kubernetes"
PASSPHRASE_MOUNT = "/var/run/secrets/ailab/passphrase"
PASSPHRASE_KEY = "passphrase"
TOKEN_SECONDS = 3600
SCRATCH = pods.Scratch("tmp", "/tmp", size_limit="2Gi")
"""ailab's data directory and the Pulumi workspace of each run (plugins are in the image)."""
DATA_MOUNT = "/var/lib/ailab"
DATA_CLAIM = f"{APP}-data"
DATA_SIZE = "1Gi"
"""The trail grows by a few kB per destroy; 1Gi is also the smallest gp3 volume."""
KEPT = ("audit", "keys")
"""What of ailab's data directory the volume keeps: the trail and its local signing key (``ailab.trail``).
The rest stays per run: a sandbox's lock left by a run that was stopped must not block every later one."""


def footprint(spec: LabSpec) -> Footprint:
    reaper = spec.sandbox.reaper
    return Footprint.of_pods(1, reaper.resources) + Footprint.of_volumes(DATA_SIZE) if reaper is not None else Footprint()


def schedule(reaper: ReaperSettings) -> jobs.Schedule:
    """One run at a time; a run that overlaps the next is stopped before the one after."""
    period = reaper.every_minutes * 60
    return jobs.Schedule(reaper.schedule(), starting_deadline_seconds=period, active_deadline_seconds=2 * period, backoff_limit=0)


def state_backend_url(reaper: ReaperSettings, trail: ReaperTrail | None) -> pulumi.Input[str]:
    """``AILAB_BACKEND_URL``: on AWS, by default, through the VPC's S3 interface endpoint.

    The reaper's egress policy admits the VPC (:func:`state_networks`), and S3's regional names
    resolve to public addresses (the interface endpoint has no private DNS, so that ECR layers keep
    the free gateway endpoint): without ``endpoint=`` the Pulumi CLI's S3 client would be refused. The
    bucket-style endpoint name is what AWS documents for SDKs; they put the bucket in front of it.
    A backend that names its own endpoint, or networks of its own, is used as written.
    """
    if trail is None or reaper.state_networks:
        return reaper.state_backend
    return pulumi.Output.from_input(trail.s3_endpoint_url).apply(lambda url: with_endpoint(reaper.state_backend, str(url)))


def with_endpoint(backend: str, endpoint: str) -> str:
    """``backend`` (an ``s3://`` URL) sending its requests to ``endpoint``, unless it names an endpoint already."""
    if "endpoint=" in backend:
        return backend
    return f"{backend}{'&' if '?' in backend else '?'}endpoint={quote(endpoint, safe='')}"


def environment(spec: LabSpec, reaper: ReaperSettings, trail: ReaperTrail | None = None) -> dict[str, pulumi.Input[str]]:
    """What ``ailab sandbox reap`` reads in the pod (none of it secret)."""
    env: dict[str, pulumi.Input[str]] = {
        "AILAB_BACKEND_URL": state_backend_url(reaper, trail),
        "PULUMI_CONFIG_PASSPHRASE_FILE": f"{PASSPHRASE_MOUNT}/{PASSPHRASE_KEY}",
        MLFLOW_ADMIN_URL_ENV: naming.mlflow_url(spec),
        QDRANT_ADMIN_URL_ENV: naming.qdrant_url(spec),
        "AILAB_HOME": f"{SCRATCH.mount_path}/ailab",
        "HOME": SCRATCH.mount_path,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    if spec.target == "onprem":
        env["KUBECONFIG"] = f"{KUBECONFIG_MOUNT}/config"
    return env


def command() -> list[str]:
    """Link the trail's directories on the volume into this run's data directory, then reap.

    Made by the ``ailab`` user (0700, like every ailab directory) the first time; the volume's root
    belongs to root, which is why ailab's data directory itself cannot be there (ailab makes it 0700).
    Arguments after the command go to ``ailab sandbox reap``.
    """
    kept = " ".join(f"{DATA_MOUNT}/{name}" for name in KEPT)
    links = "".join(f'ln -s {DATA_MOUNT}/{name} "$AILAB_HOME/{name}"\n' for name in KEPT)
    script = f'set -eu\numask 077\nmkdir -p "$AILAB_HOME" {kept}\n{links}exec ailab sandbox reap "$@"\n'
    return ["/bin/sh", "-c", script, "ailab-reaper"]


def trail_environment(spec: LabSpec, reaper: ReaperSettings, trail: ReaperTrail | None) -> dict[str, pulumi.Input[str]]:
    """Where ``ailab.trail.settings`` copies the reaper's trail and who signs it: AWS ``trail``, or ``trail_store``."""
    if trail is not None:
        return {
            "AILAB_TRAIL_STORE": trail.store_url(),
            "AILAB_TRAIL_S3_ENDPOINT": trail.s3_endpoint_url,
            "AILAB_TRAIL_KMS_KEY": trail.bucket_key_arn,
            "AILAB_TRAIL_SIGNING_KEY": trail.signing_key_arn,
            "AILAB_TRAIL_RETENTION_DAYS": str(spec.evidence.retention_days),
            # The S3 and KMS clients' region: boto3 reads AWS_DEFAULT_REGION, not AWS_REGION.
            "AWS_DEFAULT_REGION": spec.aws_settings().region,
        }
    if reaper.trail_store is None:
        return {}
    env: dict[str, pulumi.Input[str]] = {
        "AILAB_TRAIL_STORE": reaper.trail_store,
        "AILAB_TRAIL_RETENTION_DAYS": str(spec.evidence.retention_days),
    }
    if reaper.trail_store_endpoint is not None:
        env["AILAB_TRAIL_S3_ENDPOINT"] = reaper.trail_store_endpoint
    return env


def state_credentials(reaper: ReaperSettings) -> list[k8s.core.v1.EnvVarArgs]:
    """On-premises: the S3-compatible store's keys, from the Secret an operator made (AWS: IRSA, no keys)."""
    secret = reaper.state_credentials_secret
    if secret is None:
        return []
    return [
        pods.secret_env("AWS_ACCESS_KEY_ID", secret, "access_key_id"),
        pods.secret_env("AWS_SECRET_ACCESS_KEY", secret, "secret_access_key"),
    ]


def in_cluster_kubeconfig(context: str) -> str:
    """A kubeconfig whose context bears the lab's context name but reaches the API server from inside, as the pod."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "in-cluster",
                    "cluster": {
                        "server": "https://kubernetes.default.svc",
                        "certificate-authority": f"{TOKEN_MOUNT}/ca.crt",
                    },
                }
            ],
            "users": [{"name": APP, "user": {"tokenFile": f"{TOKEN_MOUNT}/token"}}],
            "contexts": [{"name": context, "context": {"cluster": "in-cluster", "user": APP}}],
            "current-context": context,
        },
        indent=2,
    )


def state_networks(spec: LabSpec, reaper: ReaperSettings) -> list[IPv4Network]:
    """Where the state backend answers: the spec's networks; on AWS by default the VPC (S3 and STS interface endpoints)."""
    if reaper.state_networks:
        return list(reaper.state_networks)
    return [spec.aws_settings().vpc_cidr] if spec.target == "aws" else []


@dataclass(frozen=True)
class ReaperArgs:
    spec: LabSpec
    reaper: ReaperSettings
    namespaces: Mapping[str, pulumi.Input[str]]
    """Platform namespace name to its name as an Output of the Namespace (for ordering): the system namespace, MLflow's, Qdrant's."""
    storage_class: pulumi.Input[str]
    """The platform's StorageClass, for the data volume."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """AWS: the IRSA role annotation."""
    trail: ReaperTrail | None = None
    """AWS: the evidence bucket and signing key of the reaper's trail."""
    after: Sequence[pulumi.Resource] = ()
    """What the reaper needs first: the operator's roles and admission policy, MLflow, Qdrant."""


class Reaper(pulumi.ComponentResource):
    """ServiceAccount, data volume, kubeconfig (on-premises), CronJob and the network policies of the reaper."""

    def __init__(self, name: str, args: ReaperArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Reaper", name, None, opts)
        spec, reaper = args.spec, args.reaper
        self._namespaces = args.namespaces
        namespace = args.namespaces[naming.system_namespace(spec)]
        account = pods.workload_service_account(
            f"{name}-sa",
            spec,
            name=APP,
            namespace=namespace,
            component=meta.SANDBOX_EXPIRY,
            parent=self,
            annotations=args.service_account_annotations,
        )
        data = volume_claim(
            f"{name}-data",
            spec,
            claim_name=DATA_CLAIM,
            component=meta.SANDBOX_EXPIRY,
            namespace=namespace,
            storage_class=args.storage_class,
            size=DATA_SIZE,
            parent=self,
        )
        volumes = [
            SCRATCH.volume(),
            k8s.core.v1.VolumeArgs(
                name="data",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=meta.name_of(data)),
            ),
            k8s.core.v1.VolumeArgs(
                name="passphrase",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=reaper.passphrase_secret,
                    items=[k8s.core.v1.KeyToPathArgs(key=PASSPHRASE_KEY, path=PASSPHRASE_KEY)],
                    default_mode=0o400,
                ),
            ),
        ]
        mounts = [
            SCRATCH.mount(),
            k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_MOUNT),
            k8s.core.v1.VolumeMountArgs(name="passphrase", mount_path=PASSPHRASE_MOUNT, read_only=True),
        ]
        depends: list[pulumi.Resource] = [account, *args.after]
        if spec.target == "onprem":
            config = k8s.core.v1.ConfigMap(
                f"{name}-kubeconfig",
                metadata=meta.object_meta(spec, f"{APP}-kubeconfig", meta.SANDBOX_EXPIRY, namespace),
                data={"config": in_cluster_kubeconfig(spec.onprem_settings().kubeconfig_context)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            depends.append(config)
            volumes += [
                k8s.core.v1.VolumeArgs(
                    name="kubeconfig",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=meta.name_of(config)),
                ),
                self._token_volume(),
            ]
            mounts += [
                k8s.core.v1.VolumeMountArgs(name="kubeconfig", mount_path=KUBECONFIG_MOUNT, read_only=True),
                k8s.core.v1.VolumeMountArgs(name="kubernetes-token", mount_path=TOKEN_MOUNT, read_only=True),
            ]
        container = k8s.core.v1.ContainerArgs(
            name=APP,
            image=reaper.image,
            image_pull_policy="IfNotPresent",
            command=command(),
            env=[
                *pods.plain_env(environment(spec, reaper, args.trail)),
                *pods.plain_env(trail_environment(spec, reaper, args.trail)),
                *state_credentials(reaper),
            ],
            resources=pods.guaranteed_resources(reaper.resources),
            security_context=pods.container_security_context(RUN_AS),
            volume_mounts=mounts,
        )
        pod = pods.hardened_pod_spec(
            run_as=RUN_AS,
            service_account=meta.name_of(account),
            containers=[container],
            volumes=volumes,
            spec=spec,
            # A failed run is retried by the next scheduled one, in a fresh workspace (the trail stays), not inside this Job.
            restart_policy="Never",
        )
        jobs.cron_job(
            f"{name}-cronjob",
            spec,
            app=APP,
            component=meta.SANDBOX_EXPIRY,
            namespace=namespace,
            schedule=schedule(reaper),
            pod=pod,
            parent=self,
            depends_on=depends,
        )
        self._network_policies(name, spec, reaper)
        self.register_outputs({"schedule": reaper.schedule()})

    @staticmethod
    def _token_volume() -> k8s.core.v1.VolumeArgs:
        """The pod's API token (short-lived, audience the API server) and the cluster's CA, for the in-cluster kubeconfig only.

        Projected explicitly because the platform's pods never automount the token; only this one talks to the API server.
        """
        return k8s.core.v1.VolumeArgs(
            name="kubernetes-token",
            projected=k8s.core.v1.ProjectedVolumeSourceArgs(
                default_mode=0o400,
                sources=[
                    k8s.core.v1.VolumeProjectionArgs(
                        service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                            path="token", expiration_seconds=TOKEN_SECONDS
                        )
                    ),
                    k8s.core.v1.VolumeProjectionArgs(
                        config_map=k8s.core.v1.ConfigMapProjectionArgs(
                            name="kube-root-ca.crt", items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")]
                        )
                    ),
                ],
            ),
        )

    def _network_policies(self, name: str, spec: LabSpec, reaper: ReaperSettings) -> None:
        """Out: MLflow, Qdrant, the API server, the state backend. In at MLflow and Qdrant: the reaper's pods."""
        reaper_pods = namespace_peer(naming.system_namespace(spec), meta.selector_labels(spec, APP))
        mlflow_pods = meta.selector_labels(spec, mlflow.APP)
        qdrant_pods = meta.selector_labels(spec, qdrant.APP)
        egress = [
            *admin_egress(spec),
            api_server_egress(spec),
            k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=cidr_peers(state_networks(spec, reaper)), ports=tcp(HTTPS_PORT)),
        ]
        network_policy(
            f"{name}-egress",
            spec,
            name=APP,
            namespace=self._namespaces[naming.system_namespace(spec)],
            pod_selector=meta.selector_labels(spec, APP),
            egress=egress,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for namespace, pods_labels, port in (
            (naming.mlflow_namespace(spec), mlflow_pods, naming.MLFLOW_PORT),
            (naming.vector_db_namespace(spec), qdrant_pods, naming.QDRANT_HTTP_PORT),
        ):
            network_policy(
                f"{name}-at-{namespace}",
                spec,
                name=f"{APP}-ingress",
                namespace=self._namespaces[namespace],
                pod_selector=pods_labels,
                ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[reaper_pods], ports=tcp(port))],
                opts=pulumi.ResourceOptions(parent=self),
            )
