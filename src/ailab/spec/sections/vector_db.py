"""The ``vector_db`` section: Qdrant, with an API key and JWT role-based access control."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ailab.spec.sections.common import Resources, StrictModel
from ailab.spec.types import SizeQuantity


class VectorDbSpec(StrictModel):
    """Qdrant, with an API key and JWT role-based access control."""

    qdrant_version: str = Field(
        default="v1.19.0",
        pattern=r"^v[0-9]+\.[0-9]+\.[0-9]+$",
        description=(
            "Qdrant release, e.g. v1.19.0; the image is docker.io/qdrant/qdrant:<version>. Upgrade an existing "
            "deployment one minor release at a time (Qdrant migrates its storage only from the previous minor)."
        ),
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
