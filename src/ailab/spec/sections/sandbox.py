"""The ``sandbox`` section: the sizes auditors may ask for and where sandboxes may connect."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ailab.spec.sections.common import LocatedValueError, PinnedImage, StrictModel, check_image
from ailab.spec.types import CpuQuantity, DnsLabel, Duration, SizeQuantity


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


def check_digest(value: str) -> str:
    """An image pinned by its content: a tag can be moved to other bytes, a digest cannot."""
    check_image(value)
    if "@sha256:" not in value:
        raise ValueError(
            f"{value!r} has no digest; pin it as registry/repository@sha256:<64 hex digits> "
            "(docker buildx imagetools inspect <image:tag> prints it)"
        )
    return value


DigestImage = Annotated[str, AfterValidator(check_digest)]


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
    eval_runner_image: DigestImage | None = Field(
        default=None,
        description=(
            "Image of the evaluation Job (`ailab eval run PLAN --stack LAB`), built from docker/eval-runner and pinned "
            "by digest (registry/ailab-eval@sha256:...); a tag alone is refused. Unset: the in-sandbox mode is off."
        ),
    )
