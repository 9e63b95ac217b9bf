"""The ``mlflow`` section: the tracking server, its backend store and its artifacts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ailab.spec.sections.common import PinnedImage, Resources, StrictModel, check_password
from ailab.spec.types import SizeQuantity

_RDS_PASSWORD_FORBIDDEN = frozenset('/@" ')


def rds_password_problem(password: str) -> str | None:
    """Why RDS would refuse ``password`` as a PostgreSQL master password, or None."""
    if len(password) > 128 or any(not " " <= char <= "~" or char in _RDS_PASSWORD_FORBIDDEN for char in password):
        return 'RDS accepts at most 128 printable ASCII characters without / @ " or space'
    return None


POSTGRES_IMAGE = (
    "docker.io/library/postgres:16.15-bookworm@sha256:efedf3595f1d6f415c08568ba171029bf54052e754cc9f030e3f2412b21f3d67"
)
"""PostgreSQL 16.15 (the latest 16.x whose published digest could be read when this was pinned, Dec 2026: the image
index Docker Hub served for the tag on 2026-09-19, as recorded by docker-library/repo-info)."""


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
    image: PinnedImage = Field(
        default=POSTGRES_IMAGE,
        description=(
            "On-premises only: the PostgreSQL image, pinned by tag and digest. Stay on the 16 line for an existing "
            "database: a new major release cannot open its data directory without pg_upgrade."
        ),
    )

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
