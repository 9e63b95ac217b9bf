"""The MLflow tracking server: always the basic-auth app, nobody sees what they were not granted.

**Authentication.** ``mlflow server --app-name basic-auth`` reads its settings from the ini file
named by ``MLFLOW_AUTH_CONFIG_PATH``. The file lives in a Secret (it holds the admin password
and the database URI) and sets ``default_permission = NO_PERMISSIONS``. The admin password is
read by MLflow only to create the admin user on first start; later changes go through MLflow's
API (``ailab.services``). Users and permissions live in the backend database itself (the auth
app keeps its own Alembic version table, ``alembic_version_auth``).

**Audit names are the admins'.** The ini file's ``authorization_function`` is
:func:`ailab.infra.k8s.mlflow_auth.authenticate_request`: MLflow's own basic-auth check, then a
403 for a non-admin who creates an experiment named ``audit/...``, renames one to such a name,
or renames one that has it (MLflow's permissions cannot express this: see that module). Its
source travels in the same Secret and is mounted beside the ini file, on ``PYTHONPATH``, as the
module ``ailab_mlflow_auth``; the image needs nothing more.

**Server-side execution, off.** MLflow 3.17 (the example stacks' image, and the version in
ailab's development environment, whose source was read for this) runs a job-execution engine
by default (``MLFLOW_SERVER_ENABLE_JOB_EXECUTION``, default true; no command-line flag): a job
runner and seven Huey consumer processes beside the server, running scorer and judge jobs,
some calling LLM providers through the server's gateway. It also ships an AI gateway
(``MLFLOW_ENABLE_AI_GATEWAY``, default true) that stores provider API keys and forwards
prompts to third parties. Neither belongs in a supervisor's evaluation lab, where the
tracking server only records: both are set to false here, explicitly, so a policy rule can
check it and no image change can silently turn them on. Custom scorers (code executed on the
server, ``MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS``) are pinned off for the same reason, and
telemetry to the MLflow project is disabled. The integration test runs this container's
command and environment against MLflow 3.17 and finds no job runner.

**CSRF key.** MLflow 3.17 refuses to start the basic-auth app without a static
``MLFLOW_FLASK_SERVER_SECRET_KEY`` shared by all workers and replicas; it comes from the same
Secret: ``mlflow.flask_secret_key`` when the spec sets it, else derived from the admin
password (see :func:`flask_secret_key`).

**Host header check.** MLflow 3.5+ refuses requests whose ``Host`` is not in
``MLFLOW_SERVER_ALLOWED_HOSTS`` (default: localhost and private IPs), which would refuse the
in-cluster DNS name sandboxes use; the allowed hosts are the Service's names, the ingress host
and localhost (``kubectl port-forward``). ``/health`` is exempt, so probes work either way.

**Identity on AWS.** The pod never mounts a Kubernetes API token
(``automountServiceAccountToken: false``): MLflow does not talk to the API server. IRSA does
not need that token: the EKS pod identity webhook sees the ServiceAccount's role annotation and
projects a separate token whose audience is ``sts.amazonaws.com`` (useless against the API
server), with ``AWS_ROLE_ARN`` and ``AWS_WEB_IDENTITY_TOKEN_FILE``. ``AWS_REGION`` and regional
STS endpoints are set here (the webhook keeps values already present) so credentials are
obtained from the lab's EU region, not the global STS endpoint.

**Backend and artifacts.** AWS: RDS PostgreSQL and ``--artifacts-destination s3://...``
(:class:`~ailab.infra.contracts.ExternalMlflowStorage`), reached with ``sslmode=verify-full`` against
RDS's CA bundle, which a ConfigMap mounts at ``DATABASE_CA_FILE``. On-premises: the in-cluster PostgreSQL
(:mod:`.postgres`) and a PersistentVolumeClaim at ``/mlartifacts``. Either way MLflow proxies
artifact traffic (``--serve-artifacts``): clients never get storage credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pulumi
import pulumi_kubernetes as k8s

from ailab.errors import BadInputError
from ailab.infra.contracts import DATABASE_CA_FILE, MLFLOW_SERVICE_ACCOUNT
from ailab.infra.k8s import meta, pods
from ailab.infra.k8s.quota import Footprint
from ailab.spec import naming
from ailab.spec.model import LabSpec

APP = "mlflow"
CONFIG_SECRET = "mlflow-config"
AUTH_CONFIG_DIR = "/etc/mlflow"
AUTH_CONFIG_FILE = "basic_auth.ini"
ARTIFACTS_DIR = "/mlartifacts"
ARTIFACTS_CLAIM = "mlflow-artifacts"
DATABASE_CA_CONFIGMAP = "mlflow-database-ca"
RUN_AS = pods.RunAs(uid=10001, gid=10001)
# Proxied uploads and downloads of large artifacts are buffered in /tmp.
TMP = pods.Scratch("tmp", "/tmp", size_limit="4Gi")
AUTH_MODULE = "ailab_mlflow_auth"
"""The name :mod:`ailab.infra.k8s.mlflow_auth` has inside the server (a file in the config directory)."""
AUTH_MODULE_FILE = f"{AUTH_MODULE}.py"
AUTHORIZATION_FUNCTION = f"{AUTH_MODULE}:authenticate_request"

SERVER_SETTINGS: dict[str, str] = {
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS": "false",
    "MLFLOW_ENABLE_AI_GATEWAY": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    # Python and MLflow write caches under $HOME; the root filesystem is read-only.
    "HOME": TMP.mount_path,
    # Where the server imports the authorization function from (a read-only mount: no bytecode written).
    "PYTHONPATH": AUTH_CONFIG_DIR,
    "PYTHONDONTWRITEBYTECODE": "1",
}
"""Environment every MLflow pod gets; see the module's docstring for why each is set."""


def rolling(spec: LabSpec, external_artifacts: bool) -> bool:
    """Whether updates roll (a surge pod beside the old ones) or recreate.

    A single-replica server on a ReadWriteOnce artifact volume must recreate: the new pod may
    land on another node and could never attach the volume the old pod still holds.
    """
    return external_artifacts or spec.mlflow.replicas > 1


def footprint(spec: LabSpec, external_artifacts: bool) -> Footprint:
    surge = 1 if rolling(spec, external_artifacts) else 0
    pods_footprint = Footprint.of_pods(spec.mlflow.replicas + surge, spec.mlflow.resources)
    if external_artifacts:
        return pods_footprint
    return pods_footprint + Footprint.of_volumes(spec.mlflow.artifacts.storage_size)


def allowed_hosts(spec: LabSpec) -> list[str]:
    """``Host`` headers MLflow accepts: its Service's DNS names, the ingress host, and localhost for port-forwarding."""
    namespace = naming.mlflow_namespace(spec)
    names = [APP, f"{APP}.{namespace}", f"{APP}.{namespace}.svc", f"{APP}.{namespace}.svc.cluster.local"]
    hosts = [host for name in names for host in (name, f"{name}:{naming.MLFLOW_PORT}")]
    if spec.ingress is not None:
        hosts.append(spec.ingress.mlflow_host)
    return [*hosts, "localhost:*", "127.0.0.1:*"]


def _ini_value(key: str, value: str) -> str:
    """A value for MLflow's ``configparser`` file: one line, ``%`` doubled (the parser interpolates)."""
    if "\n" in value or "\r" in value or value != value.strip():
        raise BadInputError(
            f"mlflow auth config: {key} must be one line without leading or trailing spaces; change it in the stack's secrets"
        )
    return value.replace("%", "%%")


def auth_config(spec: LabSpec, database_uri: str) -> str:
    """The basic-auth app's ini file (``MLFLOW_AUTH_CONFIG_PATH``)."""
    settings = {
        "default_permission": spec.mlflow.default_permission,
        "database_uri": database_uri,
        "admin_username": spec.mlflow.admin_username,
        "admin_password": spec.mlflow.admin_password.get_secret_value(),
        "authorization_function": AUTHORIZATION_FUNCTION,
    }
    return "[mlflow]\n" + "".join(f"{key} = {_ini_value(key, value)}\n" for key, value in settings.items())


def auth_module_source() -> str:
    """The source of :mod:`ailab.infra.k8s.mlflow_auth`, as the server imports it (``ailab_mlflow_auth``)."""
    return Path(__file__).with_name("mlflow_auth.py").read_text(encoding="utf-8")


def flask_secret_key(spec: LabSpec) -> str:
    """The key that signs the auth app's CSRF tokens; every worker and replica must share it.

    MLflow 3.17 refuses to start the basic-auth app without ``MLFLOW_FLASK_SERVER_SECRET_KEY``,
    and workers that disagree on it reject each other's CSRF tokens behind a load balancer. It
    is ``mlflow.flask_secret_key`` when the spec sets it; otherwise it is derived from the admin
    password: stable across deployments, secret, and rotated with that password (a rotation
    invalidates what open browser sessions hold, such as their CSRF tokens; API clients are not affected).
    """
    if spec.mlflow.flask_secret_key is not None:
        return spec.mlflow.flask_secret_key.get_secret_value()
    password = spec.mlflow.admin_password.get_secret_value().encode()
    return hmac.new(password, b"ailab/mlflow/flask-server-secret-key/v1", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ArtifactVolume:
    """Artifacts on a PersistentVolumeClaim of this StorageClass, mounted at ``/mlartifacts`` (on-premises)."""

    storage_class: pulumi.Input[str]


@dataclass(frozen=True)
class MlflowArgs:
    spec: LabSpec
    namespace: pulumi.Input[str]
    backend_store_uri: pulumi.Output[str]
    """SQLAlchemy URI with the password (a secret Output): RDS on AWS, :func:`.postgres.backend_store_uri` on-premises."""
    artifacts: ArtifactVolume | pulumi.Input[str]
    """Where artifacts go: a volume, or a destination URI (``s3://...`` on AWS)."""
    service_account_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """E.g. ``eks.amazonaws.com/role-arn`` for IRSA."""
    s3_endpoint_url: pulumi.Input[str] | None = None
    """``MLFLOW_S3_ENDPOINT_URL``: the S3 endpoint MLflow's boto3 client uses (AWS: the VPC's interface endpoint)."""
    database_ca_bundle: str | None = None
    """PEM of the external database's CAs (AWS: RDS's bundle), mounted where ``backend_store_uri``'s ``sslrootcert`` points."""


class Mlflow(pulumi.ComponentResource):
    """Config Secret, ServiceAccount, artifact volume (on-premises), Deployment, Service, PodDisruptionBudget (replicas > 1)."""

    def __init__(self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Mlflow", name, None, opts)
        spec, namespace = args.spec, args.namespace
        external_artifacts = not isinstance(args.artifacts, ArtifactVolume)
        config_data: dict[str, pulumi.Input[str]] = {
            # Secret whatever the caller passed: these hold the database and admin passwords.
            "backend-store-uri": meta.secret(args.backend_store_uri),
            AUTH_CONFIG_FILE: meta.secret(args.backend_store_uri.apply(lambda uri: auth_config(spec, uri))),
            "flask-secret-key": meta.secret(flask_secret_key(spec)),
            AUTH_MODULE_FILE: auth_module_source(),
        }
        # The CA bundle joins the checksum: a refreshed bundle rolls the pods onto it.
        checksummed = dict(config_data)
        if args.database_ca_bundle is not None:
            checksummed["database-ca"] = args.database_ca_bundle
        config = k8s.core.v1.Secret(
            f"{name}-config",
            metadata=meta.object_meta(spec, CONFIG_SECRET, meta.EXPERIMENT_TRACKING, namespace),
            type="Opaque",
            string_data=config_data,
            opts=pulumi.ResourceOptions(parent=self),
        )
        account = pods.workload_service_account(
            f"{name}-sa",
            spec,
            name=MLFLOW_SERVICE_ACCOUNT,
            namespace=namespace,
            component=meta.EXPERIMENT_TRACKING,
            parent=self,
            annotations=args.service_account_annotations,
        )
        volumes = [
            TMP.volume(),
            k8s.core.v1.VolumeArgs(
                name="auth-config",
                secret=k8s.core.v1.SecretVolumeSourceArgs(
                    secret_name=meta.name_of(config),
                    items=[
                        k8s.core.v1.KeyToPathArgs(key=AUTH_CONFIG_FILE, path=AUTH_CONFIG_FILE),
                        k8s.core.v1.KeyToPathArgs(key=AUTH_MODULE_FILE, path=AUTH_MODULE_FILE),
                    ],
                    default_mode=0o440,
                ),
            ),
        ]
        if args.database_ca_bundle is not None:
            volumes.append(self._database_ca_volume(name, spec, namespace, args.database_ca_bundle))
        if isinstance(args.artifacts, ArtifactVolume):
            claim = self._artifact_claim(name, spec, namespace, args.artifacts)
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name="artifacts",
                    persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(claim_name=meta.name_of(claim)),
                )
            )
        selector = meta.selector_labels(spec, APP)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta.object_meta(spec, APP, meta.EXPERIMENT_TRACKING, namespace),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=spec.mlflow.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                strategy=(
                    k8s.apps.v1.DeploymentStrategyArgs(
                        type="RollingUpdate",
                        rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=1, max_unavailable=0),
                    )
                    if rolling(spec, external_artifacts)
                    else k8s.apps.v1.DeploymentStrategyArgs(type="Recreate")
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=meta.object_meta(
                        spec,
                        None,
                        meta.EXPERIMENT_TRACKING,
                        extra_labels=selector,
                        extra_annotations=meta.config_checksum(checksummed),
                    ),
                    spec=pods.hardened_pod_spec(
                        run_as=RUN_AS,
                        service_account=meta.name_of(account),
                        containers=[self._container(spec, args, meta.name_of(config))],
                        volumes=volumes,
                        spec=spec,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta.object_meta(spec, APP, meta.EXPERIMENT_TRACKING, namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=naming.MLFLOW_PORT, target_port="http")],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if spec.mlflow.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=meta.object_meta(spec, APP, meta.EXPERIMENT_TRACKING, namespace),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    min_available=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"url": naming.mlflow_url(spec)})

    def _database_ca_volume(self, name: str, spec: LabSpec, namespace: pulumi.Input[str], bundle: str) -> k8s.core.v1.VolumeArgs:
        """The database's CAs as a ConfigMap (public certificates, nothing secret) and the volume that mounts it."""
        ca = k8s.core.v1.ConfigMap(
            f"{name}-database-ca",
            metadata=meta.object_meta(spec, DATABASE_CA_CONFIGMAP, meta.EXPERIMENT_TRACKING, namespace),
            data={PurePosixPath(DATABASE_CA_FILE).name: bundle},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return k8s.core.v1.VolumeArgs(
            name="database-ca",
            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=meta.name_of(ca), default_mode=0o444),
        )

    def _artifact_claim(
        self, name: str, spec: LabSpec, namespace: pulumi.Input[str], volume: ArtifactVolume
    ) -> k8s.core.v1.PersistentVolumeClaim:
        """The artifact volume. Several replicas share it, which needs a ReadWriteMany storage class."""
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-artifacts",
            metadata=meta.object_meta(spec, ARTIFACTS_CLAIM, meta.EXPERIMENT_TRACKING, namespace),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany" if spec.mlflow.replicas > 1 else "ReadWriteOnce"],
                storage_class_name=volume.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": spec.mlflow.artifacts.storage_size}),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _container(spec: LabSpec, args: MlflowArgs, config_secret: pulumi.Input[str]) -> k8s.core.v1.ContainerArgs:
        mounts = [
            TMP.mount(),
            k8s.core.v1.VolumeMountArgs(name="auth-config", mount_path=AUTH_CONFIG_DIR, read_only=True),
        ]
        if args.database_ca_bundle is not None:
            mounts.append(
                k8s.core.v1.VolumeMountArgs(
                    name="database-ca", mount_path=str(PurePosixPath(DATABASE_CA_FILE).parent), read_only=True
                )
            )
        destination: pulumi.Input[str]
        if isinstance(args.artifacts, ArtifactVolume):
            destination = ARTIFACTS_DIR
            mounts.append(k8s.core.v1.VolumeMountArgs(name="artifacts", mount_path=ARTIFACTS_DIR))
        else:
            destination = args.artifacts
        settings: dict[str, pulumi.Input[str]] = {
            **SERVER_SETTINGS,
            "MLFLOW_AUTH_CONFIG_PATH": f"{AUTH_CONFIG_DIR}/{AUTH_CONFIG_FILE}",
            "MLFLOW_SERVER_ALLOWED_HOSTS": ",".join(allowed_hosts(spec)),
        }
        if spec.region is not None:
            settings |= {"AWS_REGION": spec.region, "AWS_STS_REGIONAL_ENDPOINTS": "regional"}
        if args.s3_endpoint_url is not None:
            settings["MLFLOW_S3_ENDPOINT_URL"] = args.s3_endpoint_url
        return k8s.core.v1.ContainerArgs(
            name=APP,
            image=spec.mlflow.image,
            image_pull_policy="IfNotPresent",
            command=["mlflow"],
            args=[
                "server",
                "--app-name",
                "basic-auth",
                "--host",
                "0.0.0.0",
                "--port",
                str(naming.MLFLOW_PORT),
                "--serve-artifacts",
                "--artifacts-destination",
                destination,
            ],
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=naming.MLFLOW_PORT)],
            env=[
                *pods.plain_env(settings),
                # Read by `mlflow server` (click envvar): the URI, with its password, never appears in the pod spec.
                pods.secret_env("MLFLOW_BACKEND_STORE_URI", config_secret, "backend-store-uri"),
                pods.secret_env("MLFLOW_FLASK_SERVER_SECRET_KEY", config_secret, "flask-secret-key"),
            ],
            resources=pods.guaranteed_resources(spec.mlflow.resources),
            security_context=pods.container_security_context(RUN_AS),
            volume_mounts=mounts,
            # The first start migrates the database schema: allow it five minutes before liveness counts.
            startup_probe=pods.http_probe("/health", "http", initial_delay=10, failures=30),
            readiness_probe=pods.http_probe("/health", "http", initial_delay=0),
            liveness_probe=pods.http_probe("/health", "http", initial_delay=0, period=20),
        )
