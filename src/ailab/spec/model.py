"""The lab specification: one pydantic model tree, read from the stack config key ``ailab:lab``.

Every model forbids unknown keys, so a typo in a stack file is an error, not a silently
ignored setting. Cross-field rules (target-specific settings, EU residency, pools named by
profiles) live in :meth:`LabSpec._cross_checks` and raise :class:`LocatedValueError` so the
message still names the exact path (``lab.gpu_pools[1].instance_types``).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ailab.spec.constants import DEFAULT_REGISTRIES, ZONE_COUNT
from ailab.spec.evidence import EvidenceSpec
from ailab.spec.regions import EU_REGIONS, is_eu_region
from ailab.spec.types import CpuQuantity, DnsLabel, Duration, LabelValue, SizeQuantity

DataClassification = Literal["public", "internal", "confidential", "restricted"]
"""Data classification levels, least to most sensitive; sandboxes may not exceed the lab's."""

Loc = tuple[str | int, ...]

RFC1918_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""The private IPv4 networks of RFC 1918."""


class LocatedValueError(ValueError):
    """A cross-field error that knows the path of the field at fault (relative to ``lab``)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors and a parsed spec is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The model classes a field's annotation may hold (through Annotated, Optional, unions, list and dict values)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return model_classes(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        args = typing.get_args(annotation)
        return [model for arg in (args[1:] if origin is dict else args) for model in model_classes(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$")


def check_image(value: str) -> str:
    """A container image pinned by tag or digest; ``:latest`` and untagged images are refused."""
    if not _IMAGE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an image reference; write registry/repository:tag, e.g. docker.io/qdrant/qdrant:v1.13.4"
        )
    name = value.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
    if "@sha256:" not in value and (tag is None or tag == "latest"):
        raise ValueError(f"{value!r} is not pinned; give an explicit version tag or an @sha256 digest, never :latest")
    return value


PinnedImage = Annotated[str, AfterValidator(check_image)]


class Resources(StrictModel):
    """CPU and memory a service container requests; limits equal requests (Guaranteed QoS)."""

    cpu: CpuQuantity = Field(default="500m", description="CPU quantity, e.g. 500m or 2.")
    memory: SizeQuantity = Field(default="1Gi", description="Memory quantity, e.g. 1Gi.")


class RegionOverride(StrictModel):
    """The only way to deploy outside the EU: a written justification and who approved it."""

    justification: str = Field(min_length=40, description="Why a non-EU region is lawful and necessary (at least 40 characters).")
    approved_by: str = Field(min_length=3, description="Who approved the transfer (e.g. the DPO).")


class AwsSettings(StrictModel):
    """AWS account-level settings of an ``aws`` lab."""

    region: str = Field(description="AWS region; must be one of the EU regions unless region_override is given.")
    region_override: RegionOverride | None = Field(
        default=None, description="Only to deploy outside the EU: a justification and an approver. Policy checks still report it."
    )
    vpc_cidr: IPv4Network = Field(
        default=IPv4Network("10.40.0.0/16"),
        description="Private (RFC 1918) /16 to /20 network of the VPC; split into public (NAT only) and private subnets.",
    )
    availability_zones: list[str] | None = Field(
        default=None, description="Exactly three zones; when omitted the first three available zones of the region are used."
    )
    kms_deletion_window_days: int = Field(
        default=30, ge=7, le=30, description="Days a scheduled KMS key deletion can still be cancelled (7 to 30)."
    )
    log_retention_days: Literal[30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] = Field(
        default=365, description="CloudWatch retention of EKS control-plane and VPC flow logs (a value CloudWatch accepts)."
    )
    api_allowed_cidrs: list[IPv4Network] = Field(
        default_factory=list,
        description="Networks (VPN, bastion) allowed to reach the private EKS API endpoint on 443, besides the VPC.",
    )
    deployer_role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$",
        description=(
            "IAM role that runs pulumi up (CI, or the role architects assume): it gets an explicit, visible cluster-admin "
            "access entry and EKS's implicit creator entry is turned off. Without it the creator entry stays (policy rule "
            "AILAB-RBAC-003 reports it). Decide before the cluster is created: adding or removing it later replaces the cluster."
        ),
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError(f"{value} is too small or too large; use a /16 to /20 private network")
        if not value.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) network")
        return value

    @field_validator("api_allowed_cidrs")
    @classmethod
    def _no_world(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        for network in value:
            if network.prefixlen == 0:
                raise ValueError("0.0.0.0/0 would open the cluster API to the internet; list your VPN or bastion networks")
        return value

    @model_validator(mode="after")
    def _eu_residency(self) -> AwsSettings:
        if not is_eu_region(self.region) and self.region_override is None:
            allowed = ", ".join(EU_REGIONS)
            raise LocatedValueError(
                ("region",),
                f"{self.region!r} is not in the EU; use one of {allowed} "
                "(or add region_override with a justification and approver)",
            )
        zones = self.availability_zones
        if zones is not None:
            if len(zones) != ZONE_COUNT or len(set(zones)) != ZONE_COUNT:
                raise LocatedValueError(("availability_zones",), f"give exactly {ZONE_COUNT} different zones")
            for index, zone in enumerate(zones):
                if not zone.startswith(self.region):
                    raise LocatedValueError(("availability_zones", index), f"{zone!r} is not a zone of {self.region}")
        return self


class OnPremSettings(StrictModel):
    """How to reach an existing on-premises cluster."""

    kubeconfig_context: str = Field(min_length=1, description="Context name in the architect's kubeconfig.")
    storage_class: DnsLabel = Field(
        default="local-path", description="StorageClass for PostgreSQL, artifacts and Qdrant volumes."
    )
    api_server_cidrs: list[IPv4Network] = Field(
        default_factory=lambda: list(RFC1918_NETWORKS),
        validate_default=True,
        min_length=1,
        description=(
            "Where the GPU operator may connect to reach the Kubernetes API server (ports 443 and 6443): the control-plane "
            "nodes' addresses, plus the kubernetes Service's ClusterIP for CNIs that enforce policy before Service "
            "translation. The default, every RFC 1918 network, works anywhere but is wide: narrow it to your cluster's."
        ),
    )

    @field_validator("api_server_cidrs")
    @classmethod
    def _narrow_enough(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        for network in value:
            if network.prefixlen < 8:
                raise ValueError(
                    f"{network} is too wide for the API server; list the control-plane nodes' networks (a /8 or narrower)"
                )
        return value


class ClusterSpec(StrictModel):
    """The Kubernetes cluster: created on AWS (EKS), adopted on-premises."""

    name: DnsLabel = Field(description="Cluster name (DNS label); the EKS cluster's name on AWS.")
    kubernetes_version: str = Field(pattern=r"^1\.(29|3[0-9])$", description="Minor version, e.g. '1.31' (1.29 or newer).")


class Taint(StrictModel):
    key: str = Field(min_length=1, description="Taint key.")
    value: str = Field(default="", description="Taint value (may be empty).")
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = Field(
        default="NoSchedule", description="NoSchedule, PreferNoSchedule or NoExecute."
    )


class NodePool(StrictModel):
    """A group of nodes: EC2 instance types on AWS, a node selector on-premises."""

    name: DnsLabel = Field(default="system", description="Pool name (DNS label).")
    instance_types: list[str] = Field(default_factory=list, description="AWS only: EC2 instance types, first preferred.")
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="On-premises only: labels that pick the pool's nodes."
    )
    min_size: int = Field(default=1, ge=0, le=1000, description="Fewest nodes (AWS autoscaling; documentation only on-premises).")
    max_size: int = Field(default=3, ge=1, le=1000, description="Most nodes.")
    desired_size: int = Field(default=2, ge=0, le=1000, description="Nodes to start with; between min_size and max_size.")
    disk_size_gib: int = Field(
        default=100, ge=20, le=16384, description="Root volume size of each node in GiB (AWS; encrypted with the lab's KMS key)."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Extra Kubernetes labels on the pool's nodes.")
    taints: list[Taint] = Field(default_factory=list, description="Extra taints on the pool's nodes.")

    @model_validator(mode="after")
    def _sizes(self) -> NodePool:
        if self.max_size < self.min_size:
            raise LocatedValueError(("max_size",), f"max_size {self.max_size} is below min_size {self.min_size}")
        if not self.min_size <= self.desired_size <= self.max_size:
            raise LocatedValueError(
                ("desired_size",),
                f"desired_size {self.desired_size} must lie between min_size {self.min_size} and max_size {self.max_size}",
            )
        return self


class ExclusiveSharing(StrictModel):
    """Each pod gets whole GPUs."""

    mode: Literal["exclusive"] = Field(default="exclusive", description="exclusive: each pod gets whole GPUs.")


class TimeSlicingSharing(StrictModel):
    """Each GPU is advertised ``replicas`` times; pods share it in time (no memory isolation)."""

    mode: Literal["time-slicing"] = Field(description="time-slicing: GPUs are shared in time, without memory isolation.")
    replicas: int = Field(ge=2, le=64, description="How many pods may share one GPU (2 to 64).")


MIG_PROFILE = re.compile(r"^[1-7]g\.[0-9]+gb(\+me)?$")


class MigSharing(StrictModel):
    """Each GPU is partitioned into MIG instances of one profile (A100, H100, H200)."""

    mode: Literal["mig"] = Field(description="mig: GPUs are partitioned into isolated MIG instances.")
    profile: str = Field(description="MIG profile such as 1g.10gb, 2g.20gb, 3g.40gb.")
    strategy: Literal["single", "mixed"] = Field(
        default="mixed", description="mixed: resources named nvidia.com/mig-<profile>; single: nvidia.com/gpu."
    )

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str) -> str:
        if not MIG_PROFILE.fullmatch(value):
            raise ValueError(f"{value!r} is not a MIG profile; write <slices>g.<memory>gb, e.g. 1g.10gb or 3g.40gb")
        return value


GpuSharing = Annotated[ExclusiveSharing | TimeSlicingSharing | MigSharing, Field(discriminator="mode")]

# EC2 families with NVIDIA GPUs. A GPU pool of m5.large is a mistake worth catching early.
NVIDIA_INSTANCE_FAMILIES = ("p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "g4dn", "g5", "g6", "g6e", "gr6", "g6f")


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


# Graviton families have a "g" after the generation digit: m7g, c6gn, r8gd, t4g.
_GRAVITON = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.")


def is_graviton(instance_type: str) -> bool:
    """True for an Arm (AWS Graviton) instance type."""
    return bool(_GRAVITON.match(instance_type))


_RDS_PASSWORD_FORBIDDEN = frozenset('/@" ')


def rds_password_problem(password: str) -> str | None:
    """Why RDS would refuse ``password`` as a PostgreSQL master password, or None."""
    if len(password) > 128 or any(not " " <= char <= "~" or char in _RDS_PASSWORD_FORBIDDEN for char in password):
        return 'RDS accepts at most 128 printable ASCII characters without / @ " or space'
    return None


class GpuPool(NodePool):
    """A pool of NVIDIA GPU nodes. Always tainted ``nvidia.com/gpu=true:NoSchedule``."""

    name: DnsLabel = Field(description="Pool name, referenced by sandbox profiles.")
    min_size: int = Field(default=0, ge=0, le=1000, description="Fewest nodes (GPU pools may scale to zero).")
    desired_size: int = Field(default=1, ge=0, le=1000, description="Nodes to start with; between min_size and max_size.")
    max_size: int = Field(default=2, ge=1, le=1000, description="Most nodes.")
    gpus_per_node: int = Field(default=1, ge=1, le=16, description="GPUs in each node; used to size quotas.")
    sharing: GpuSharing = Field(
        default_factory=ExclusiveSharing,
        description="How pods share the GPUs: exclusive (default), time-slicing (replicas) or mig (profile, strategy).",
    )

    @field_validator("instance_types")
    @classmethod
    def _gpu_types(cls, value: list[str]) -> list[str]:
        for index, instance_type in enumerate(value):
            if instance_family(instance_type) not in NVIDIA_INSTANCE_FAMILIES:
                families = ", ".join(NVIDIA_INSTANCE_FAMILIES)
                raise LocatedValueError((index,), f"{instance_type!r} has no NVIDIA GPU; use a type of the families {families}")
        return value


def check_password(value: SecretStr) -> SecretStr:
    """Passwords ailab deploys are at least 16 characters (they are never typed by people)."""
    if len(value.get_secret_value()) < 16:
        raise ValueError("a password must be at least 16 characters")
    return value


class MlflowDatabase(StrictModel):
    """MLflow's backend store: RDS PostgreSQL on AWS, an in-cluster PostgreSQL on-premises."""

    engine_version: str = Field(
        default="16", pattern=r"^1[4-7](\.[0-9]+)?$", description="PostgreSQL major (or major.minor) version, 14 to 17."
    )
    instance_class: str = Field(default="db.t4g.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="AWS only.")
    allocated_storage_gib: int = Field(default=50, ge=20, le=65536, description="AWS only.")
    multi_az: bool = Field(default=True, description="AWS only: a standby in a second zone.")
    backup_retention_days: int = Field(default=14, ge=7, le=35, description="Days automated backups are kept (7 to 35).")
    password: SecretStr = Field(
        description="Pulumi secret: the master password of RDS, or of the in-cluster PostgreSQL (at least 16 characters)."
    )
    storage_size: SizeQuantity = Field(default="20Gi", description="On-premises only: the PostgreSQL volume.")
    backup_storage_size: SizeQuantity | None = Field(
        default=None,
        description="On-premises only: the volume of the daily pg_dump backups; when omitted, the size of the PostgreSQL volume.",
    )
    resources: Resources = Field(
        default_factory=Resources,
        description="On-premises only: CPU and memory of the PostgreSQL container (requests equal limits).",
    )
    image: PinnedImage = Field(default="docker.io/library/postgres:16.6-bookworm", description="On-premises only.")

    _strong = field_validator("password")(classmethod(lambda cls, value: check_password(value)))


class MlflowArtifacts(StrictModel):
    """MLflow's artifact store: an S3 bucket on AWS, a PersistentVolumeClaim on-premises."""

    storage_size: SizeQuantity = Field(default="100Gi", description="On-premises only: the artifact volume.")
    transition_to_infrequent_access_days: int = Field(default=30, ge=30, le=3650, description="AWS only.")
    noncurrent_version_expiry_days: int = Field(default=90, ge=1, le=3650, description="AWS only: old object versions.")
    expire_after_days: int | None = Field(
        default=None, ge=1, le=36500, description="AWS only: delete artifacts after this many days (storage limitation)."
    )


OFFICIAL_MLFLOW_IMAGE = "ghcr.io/mlflow/mlflow"
"""MLflow's own image repository: ``v<version>`` holds MLflow alone, ``v<version>-full`` its extras (auth, db, boto3...)."""


class MlflowSpec(StrictModel):
    """The MLflow tracking server, always the basic-auth app."""

    image: PinnedImage = Field(
        default="ghcr.io/mlflow/mlflow:v3.17.2-full",
        description=(
            "MLflow server image, pinned by tag or digest (never :latest). It must hold the basic-auth app's Flask-WTF, "
            "the PostgreSQL drivers (psycopg, psycopg2) and, on AWS, boto3: the official -full variant does, the official "
            "plain tag does not (see docs/mlflow-image.md)."
        ),
    )
    replicas: int = Field(
        default=2, ge=1, le=10, description="Tracking server replicas (a PodDisruptionBudget keeps one up when more than one)."
    )
    admin_username: str = Field(
        default="admin",
        pattern=r"^[A-Za-z0-9_.@-]{3,64}$",
        description="The MLflow admin account ailab uses to create experiments, users and permissions.",
    )
    admin_password: SecretStr = Field(
        description="Pulumi secret: pulumi config set --secret --path 'ailab:lab.mlflow.admin_password'."
    )
    flask_secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Optional Pulumi secret (at least 32 characters): the key that signs the basic-auth app's CSRF tokens, shared by "
            "all replicas. When omitted it is derived from admin_password (HMAC-SHA256), so it changes when that password does."
        ),
    )
    default_permission: Literal["NO_PERMISSIONS"] = Field(
        default="NO_PERMISSIONS", description="Fixed: nobody sees an experiment they were not granted."
    )
    database: MlflowDatabase = Field(description="The backend store.")
    artifacts: MlflowArtifacts = Field(default_factory=MlflowArtifacts, description="The artifact store.")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu="1", memory="2Gi"),
        description="CPU and memory of each MLflow container (requests equal limits).",
    )

    _strong = field_validator("admin_password")(classmethod(lambda cls, value: check_password(value)))

    @field_validator("flask_secret_key")
    @classmethod
    def _long_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("a Flask secret key must be at least 32 characters (it signs the CSRF tokens of the auth app)")
        return value

    @field_validator("image")
    @classmethod
    def _server_variant(cls, value: str) -> str:
        """The official plain image cannot run the lab's server: it lacks Flask-WTF and a PostgreSQL driver (and boto3)."""
        name = value.split("@", 1)[0]
        repository, _, tag = name.rpartition(":")
        if repository == OFFICIAL_MLFLOW_IMAGE and not tag.endswith("-full"):
            raise ValueError(
                f"{value!r} is the plain MLflow image, without Flask-WTF, PostgreSQL drivers and boto3; "
                f"use {OFFICIAL_MLFLOW_IMAGE}:{tag}-full or an image of your own (docs/mlflow-image.md)"
            )
        return value


class VectorDbSpec(StrictModel):
    """Qdrant, with an API key and JWT role-based access control."""

    qdrant_version: str = Field(
        default="v1.13.4",
        pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$",
        description="Qdrant release, e.g. v1.13.4; the image is docker.io/qdrant/qdrant:<version>.",
    )
    replicas: int = Field(default=1, ge=1, le=9, description="Qdrant replicas.")
    storage_size: SizeQuantity = Field(default="50Gi", description="Volume size of each Qdrant replica.")
    api_key: SecretStr = Field(description="Pulumi secret; also the key that signs the per-sandbox JWTs.")
    read_only_api_key: SecretStr | None = Field(
        default=None, description="Optional Pulumi secret: a read-only API key (at least 32 characters)."
    )
    jwt_rbac: Literal[True] = Field(default=True, description="Fixed: sandboxes get collection-scoped JWTs.")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu="1", memory="4Gi"),
        description="CPU and memory of each Qdrant container (requests equal limits).",
    )

    @field_validator("api_key", "read_only_api_key")
    @classmethod
    def _long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("a Qdrant API key must be at least 32 characters (it also signs JWTs with HS256)")
        return value


class SandboxProfile(StrictModel):
    """A size an auditor can ask for: ``ailab sandbox create ... --profile NAME``."""

    description: str = Field(default="", description="What the profile is for (shown to auditors).")
    cpu: CpuQuantity = Field(description="CPU quota of the sandbox namespace.")
    memory: SizeQuantity = Field(description="Memory quota of the sandbox namespace.")
    gpus: int = Field(
        default=0,
        ge=0,
        le=16,
        description="GPUs (or MIG slices / time-slices of the pool's resource) the sandbox may request; 0 for none.",
    )
    gpu_pool: DnsLabel | None = Field(default=None, description="GPU pool the sandbox's GPUs come from; required when gpus > 0.")
    storage: SizeQuantity = Field(description="Storage quota (sum of volume claims) of the sandbox namespace.")
    pods: int = Field(default=20, ge=1, le=500, description="Most pods in the sandbox namespace.")
    max_ttl: Duration = Field(description="Longest a sandbox of this profile may live, extensions included (e.g. 14d).")
    default_ttl: Duration = Field(description="Lifetime when create gives no --ttl; at most max_ttl.")
    workbench: bool = Field(default=True, description="Start a hardened JupyterLab workbench in the sandbox.")

    @model_validator(mode="after")
    def _ttls(self) -> SandboxProfile:
        if self.default_ttl > self.max_ttl:
            raise LocatedValueError(("default_ttl",), "default_ttl is longer than max_ttl")
        if self.gpus > 0 and self.gpu_pool is None:
            raise LocatedValueError(("gpu_pool",), f"a profile with {self.gpus} GPU(s) must name the gpu_pool they come from")
        if self.gpus == 0 and self.gpu_pool is not None:
            raise LocatedValueError(("gpu_pool",), "gpu_pool is set but gpus is 0; remove gpu_pool or ask for GPUs")
        return self


class EgressRule(StrictModel):
    """A destination a sandbox may reach, besides DNS, MLflow and Qdrant."""

    name: DnsLabel = Field(description="Rule name (DNS label).")
    cidr: IPv4Network = Field(description="Destination network, a /8 or narrower.")
    ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(min_length=1, description="Destination ports.")
    protocol: Literal["TCP", "UDP"] = Field(default="TCP", description="TCP or UDP.")
    description: str = Field(min_length=1, description="What it is and why sandboxes need it.")

    @field_validator("cidr")
    @classmethod
    def _not_world(cls, value: IPv4Network) -> IPv4Network:
        if value.prefixlen < 8:
            raise ValueError(
                f"{value} is too wide for an allowlist; name the hosts or networks a sandbox needs (a /8 or narrower)"
            )
        return value


class SandboxSettings(StrictModel):
    profiles: dict[DnsLabel, SandboxProfile] = Field(
        min_length=1, description="Named sandbox sizes (names are DNS labels); at least one."
    )
    egress_allowlist: list[EgressRule] = Field(
        default_factory=list,
        description="Destinations every sandbox may reach besides DNS, MLflow and Qdrant; nothing else leaves a sandbox.",
    )
    workbench_image: PinnedImage = Field(
        default="quay.io/jupyter/scipy-notebook:2025-03-14", description="JupyterLab image of the optional workbench, pinned."
    )


class OidcSpec(StrictModel):
    """The identity provider whose users and groups the personas and sandbox teams are bound to."""

    issuer_url: str = Field(pattern=r"^https://[^\s]+$", description="HTTPS URL of the OIDC issuer.")
    client_id: str = Field(min_length=1, description="Client id the cluster's API server accepts tokens for.")
    username_claim: str = Field(default="email", description="Token claim used as the Kubernetes user name.")
    groups_claim: str = Field(default="groups", description="Token claim listing the user's groups.")
    username_prefix: str = Field(
        default="oidc:",
        description=(
            "Prefix the API server puts before every user name from this provider (EKS: set by ailab; on-premises: the API "
            "server's --oidc-username-prefix). Sandbox RoleBindings name team members with it."
        ),
    )
    groups_prefix: str = Field(
        default="oidc:",
        description="Prefix the API server puts before every group from this provider (on-premises: --oidc-groups-prefix).",
    )

    @field_validator("username_prefix", "groups_prefix")
    @classmethod
    def _safe_prefix(cls, value: str) -> str:
        # Without a prefix (or with a system: one) a token could claim a built-in identity such as system:masters.
        if not value or value.startswith("system:"):
            raise ValueError(f"{value!r} cannot be a prefix: give a non-empty one that does not start with system:, e.g. oidc:")
        return value


class AccessSpec(StrictModel):
    """The three personas, each bound to least-privilege roles through its OIDC groups."""

    oidc: OidcSpec | None = Field(
        default=None, description="AWS: registered on EKS. On-premises: configured on the API server already."
    )
    architects: list[str] = Field(
        min_length=1, description="OIDC groups of architects: manage the platform namespaces, read the cluster."
    )
    auditors: list[str] = Field(
        min_length=1, description="OIDC groups of auditors: list namespaces; each sandbox grants its team more inside it."
    )
    reviewers: list[str] = Field(min_length=1, description="OIDC groups of security reviewers: read-only, Secrets excluded.")

    def kubernetes_user(self, name: str) -> str:
        """The user name the API server sees for a person of the identity provider (the prefix when there is one)."""
        return f"{self.oidc.username_prefix}{name}" if self.oidc is not None else name

    def kubernetes_group(self, name: str) -> str:
        """The group name the API server sees for a group of the identity provider (the prefix when there is one)."""
        return f"{self.oidc.groups_prefix}{name}" if self.oidc is not None else name

    @model_validator(mode="after")
    def _separation_of_duties(self) -> AccessSpec:
        personas = {"architects": self.architects, "auditors": self.auditors, "reviewers": self.reviewers}
        seen: dict[str, str] = {}
        for persona, groups in personas.items():
            for index, group in enumerate(groups):
                if group in seen and seen[group] != persona:
                    raise LocatedValueError(
                        (persona, index),
                        f"group {group!r} is also in {seen[group]}; a group holds one persona (separation of duties)",
                    )
                seen[group] = persona
        return self


class TagsSpec(StrictModel):
    """Applied as AWS tags and Kubernetes labels to every resource that takes them."""

    owner: LabelValue = Field(min_length=1, description="Owning unit, as a label-safe value (e.g. ai-lab-unit).")
    owner_contact: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Contact e-mail of the owner (an annotation and AWS tag; not a valid label value).",
    )
    cost_centre: LabelValue = Field(min_length=1, description="Cost centre, label-safe.")
    data_classification: DataClassification = Field(
        description="Highest classification of data the lab may hold: public, internal, confidential or restricted."
    )
    extra: dict[str, str] = Field(default_factory=dict, description="More AWS tags (not labels).")


class IngressSpec(StrictModel):
    """How auditors' machines reach MLflow and Qdrant: an internal ingress with TLS (over the VPN)."""

    class_name: str = Field(default="nginx", min_length=1, description="IngressClass of the internal ingress controller.")
    tls_secret_name: DnsLabel = Field(description="Secret (in each service namespace) holding the TLS certificate.")
    mlflow_host: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="Host name of MLflow behind the ingress.")
    qdrant_host: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="Host name of Qdrant behind the ingress.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Extra ingress annotations, e.g. to keep the load balancer internal."
    )
    controller_namespace: DnsLabel = Field(
        default="ingress-nginx",
        description="Namespace of the ingress controller's pods: the only namespace, besides sandboxes, that may reach MLflow and Qdrant.",
    )


class SupplyChainSpec(StrictModel):
    allowed_registries: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REGISTRIES), min_length=1, description="Image prefixes the lab may pull from."
    )


class LabSpec(StrictModel):
    """The whole lab. Stack config key ``ailab:lab``."""

    name: DnsLabel = Field(default="ailab", max_length=20, description="Short prefix of every resource name.")
    target: Literal["aws", "onprem"] = Field(
        description="Where the lab runs: aws (an EKS cluster this program creates) or onprem (an existing cluster)."
    )
    aws: AwsSettings | None = Field(default=None, description="AWS settings; required when target is aws, forbidden otherwise.")
    onprem: OnPremSettings | None = Field(
        default=None, description="On-premises settings; required when target is onprem, forbidden otherwise."
    )
    cluster: ClusterSpec = Field(description="The Kubernetes cluster.")
    system_pool: NodePool = Field(
        default_factory=NodePool,
        description="Nodes for the platform services (MLflow, Qdrant, operators); never tainted for GPUs.",
    )
    gpu_pools: list[GpuPool] = Field(
        min_length=1, description="One or more pools of NVIDIA GPU nodes; sandbox profiles draw GPUs from them by name."
    )
    mlflow: MlflowSpec = Field(description="The MLflow tracking server.")
    vector_db: VectorDbSpec = Field(description="The Qdrant vector database.")
    sandbox: SandboxSettings = Field(description="What auditors may ask for: sandbox profiles and the egress allowlist.")
    access: AccessSpec = Field(description="Who may do what: the OIDC groups of the three personas.")
    tags: TagsSpec = Field(description="Ownership and classification, applied as AWS tags and Kubernetes labels.")
    ingress: IngressSpec | None = Field(default=None, description="Without it, reach the services with kubectl port-forward.")
    supply_chain: SupplyChainSpec = Field(default_factory=SupplyChainSpec, description="Where images may come from.")
    evidence: EvidenceSpec = Field(default_factory=EvidenceSpec, description="The audit trail's store, key and timestamps.")

    @model_validator(mode="after")
    def _cross_checks(self) -> LabSpec:
        for error in self.cross_field_errors():
            raise error
        return self

    def cross_field_errors(self) -> Iterator[LocatedValueError]:
        """Rules that span sections; each error carries its path relative to ``lab``."""
        yield from self._target_errors()
        yield from self._pool_errors()
        yield from self._profile_errors()

    def _target_errors(self) -> Iterator[LocatedValueError]:
        if self.target == "aws":
            if self.aws is None:
                yield LocatedValueError(("aws",), "target is aws: add an aws section with at least region")
            if self.onprem is not None:
                yield LocatedValueError(("onprem",), "target is aws: remove the onprem section")
            problem = rds_password_problem(self.mlflow.database.password.get_secret_value())
            if problem:
                yield LocatedValueError(
                    ("mlflow", "database", "password"),
                    f"{problem}; set another with pulumi config set --secret --path 'ailab:lab.mlflow.database.password'",
                )
        else:
            if self.onprem is None:
                yield LocatedValueError(("onprem",), "target is onprem: add an onprem section with kubeconfig_context")
            if self.aws is not None:
                yield LocatedValueError(("aws",), "target is onprem: remove the aws section")

    def pools(self) -> Iterator[tuple[Loc, NodePool]]:
        """Every node pool with its path: the system pool first, then the GPU pools."""
        yield ("system_pool",), self.system_pool
        for index, pool in enumerate(self.gpu_pools):
            yield ("gpu_pools", index), pool

    def _pool_errors(self) -> Iterator[LocatedValueError]:
        names: set[str] = set()
        for loc, pool in self.pools():
            if pool.name in names:
                yield LocatedValueError((*loc, "name"), f"pool name {pool.name!r} is used twice")
            names.add(pool.name)
            if self.target == "aws":
                if not pool.instance_types:
                    yield LocatedValueError((*loc, "instance_types"), "target is aws: list at least one EC2 instance type")
                if pool.node_selector:
                    yield LocatedValueError(
                        (*loc, "node_selector"), "target is aws: node_selector is for onprem; use instance_types"
                    )
                if len({is_graviton(instance_type) for instance_type in pool.instance_types}) > 1:
                    yield LocatedValueError(
                        (*loc, "instance_types"),
                        f"{', '.join(pool.instance_types)} mix Arm (Graviton) and x86 types; a node group has one architecture",
                    )
            else:
                if pool.instance_types:
                    yield LocatedValueError(
                        (*loc, "instance_types"), "target is onprem: instance_types is for aws; use node_selector"
                    )
                if isinstance(pool, GpuPool) and not pool.node_selector:
                    yield LocatedValueError(
                        (*loc, "node_selector"), "target is onprem: give the labels that select this pool's nodes"
                    )
        strategies = {pool.sharing.strategy for pool in self.gpu_pools if isinstance(pool.sharing, MigSharing)}
        if len(strategies) > 1:
            yield LocatedValueError(
                ("gpu_pools",), "all MIG pools must use the same strategy (the GPU operator has one per cluster)"
            )

    def _profile_errors(self) -> Iterator[LocatedValueError]:
        pools = {pool.name: pool for pool in self.gpu_pools}
        for name, profile in self.sandbox.profiles.items():
            loc = ("sandbox", "profiles", name)
            if profile.gpu_pool is not None and profile.gpu_pool not in pools:
                yield LocatedValueError(
                    (*loc, "gpu_pool"), f"no GPU pool named {profile.gpu_pool!r}; pools are {', '.join(pools)}"
                )

    def gpu_pool(self, name: str) -> GpuPool:
        """The GPU pool called ``name`` (validated to exist when a profile names it)."""
        for pool in self.gpu_pools:
            if pool.name == name:
                return pool
        raise KeyError(name)

    @property
    def region(self) -> str | None:
        """The AWS region of an aws lab, else None."""
        return self.aws.region if self.aws else None
