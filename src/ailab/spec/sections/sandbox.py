"""The ``sandbox`` section: the sizes auditors may ask for and where sandboxes may connect."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ailab.spec.sections.common import LocatedValueError, PinnedImage, Resources, StrictModel, check_image, check_narrow
from ailab.spec.sections.evidence import HTTP_URL, S3_URL
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
        check_narrow([value], "is too wide for an allowlist; name the hosts or networks a sandbox needs (a /8 or narrower)")
        return value


class ReaperSettings(StrictModel):
    """The in-cluster reaper: a CronJob that destroys expired sandboxes even when no workstation runs ``ailab sandbox reap``."""

    image: DigestImage = Field(
        description=(
            "The ailab operator image (docker/ailab-operator: ailab, the Pulumi CLI and its plugins), pinned by "
            "@sha256 digest: the reaper runs with sandbox-operator rights."
        )
    )
    every_minutes: Literal[5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720] = Field(
        default=15,
        description=(
            "How often the reaper runs (a divisor of an hour or of a day, so runs are evenly spaced); a sandbox "
            "outlives its expiry by about this much at most."
        ),
    )
    state_backend: str = Field(
        pattern=r"^s3://[^\s]+$",
        description=(
            "The sandboxes' Pulumi state backend (what auditors set as AILAB_BACKEND_URL), e.g. "
            "s3://ailab-sandbox-state/sandboxes?region=eu-central-1; on-premises an S3-compatible store "
            "reachable from the cluster (add &endpoint=...&s3ForcePathStyle=true)."
        ),
    )
    state_kms_key_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-[a-z]+)*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$",
        description="AWS: the KMS key that encrypts the state bucket (SSE-KMS); the reaper's role may use it, nothing else.",
    )
    state_networks: list[IPv4Network] = Field(
        default_factory=list,
        description=(
            "Where the state backend answers on 443, for the reaper's egress policy. AWS: empty means the VPC (the "
            "S3 and STS interface endpoints), and the reaper's backend URL gets endpoint= the VPC's S3 interface "
            "endpoint unless it names one; on-premises: the S3-compatible store's addresses (required)."
        ),
    )
    passphrase_secret: DnsLabel = Field(
        default="sandbox-state-passphrase",
        description=(
            "Secret (key 'passphrase') in the lab's system namespace holding the sandbox stacks' passphrase; "
            "made by an operator with kubectl, so the passphrase never enters the lab's state."
        ),
    )
    state_credentials_secret: DnsLabel | None = Field(
        default=None,
        description=(
            "On-premises: Secret in the lab's system namespace with the S3-compatible store's access_key_id and "
            "secret_access_key, made with kubectl. AWS: leave unset (the reaper's IRSA role has the access)."
        ),
    )
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu="500m", memory="1Gi"),
        description="CPU and memory of the reaper's pod (the Pulumi engine and its plugins).",
    )
    trail_store: str | None = Field(
        default=None,
        pattern=S3_URL,
        description=(
            "On-premises: s3://bucket/prefix of an S3-compatible store with Object Lock, where each run copies its "
            "audit trail write-once (AILAB_TRAIL_STORE), with the keys of state_credentials_secret; a prefix of its "
            "own, apart from the operators' trail. Unset: the trail stays on the reaper's volume only. AWS: leave "
            "unset (the lab copies it to its evidence bucket, under trail/reaper)."
        ),
    )
    trail_store_endpoint: str | None = Field(
        default=None,
        pattern=HTTP_URL,
        description=(
            "On-premises: the endpoint URL of trail_store's S3-compatible store (AILAB_TRAIL_S3_ENDPOINT), answering "
            "on 443 in state_networks."
        ),
    )

    @field_validator("state_backend")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if "@" in value.removeprefix("s3://").split("/", 1)[0].split("?", 1)[0]:
            # The value is not echoed: it holds a key.
            raise ValueError("the URL carries credentials (user:key@) before the bucket; keep keys out of the stack file")
        return value

    @field_validator("state_networks")
    @classmethod
    def _bounded(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        # The reaper runs with sandbox-operator rights: its egress names the store, not the internet.
        check_narrow(value, "opens the reaper's egress to most of the internet; list the store's own addresses")
        return value

    @model_validator(mode="after")
    def _trail_store(self) -> ReaperSettings:
        if self.trail_store_endpoint is not None and self.trail_store is None:
            raise LocatedValueError(("trail_store",), "trail_store_endpoint is set: name the store too (s3://bucket/prefix)")
        return self

    def schedule(self) -> str:
        """The CronJob schedule of ``every_minutes``."""
        if self.every_minutes < 60:
            return f"*/{self.every_minutes} * * * *"
        return f"0 */{self.every_minutes // 60} * * *"

    def state_location(self) -> tuple[str, str]:
        """The bucket and the key prefix (no trailing '/') of ``state_backend``."""
        bucket, _, prefix = self.state_backend.removeprefix("s3://").split("?", 1)[0].partition("/")
        return bucket, prefix.strip("/")


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
    reaper: ReaperSettings | None = Field(
        default=None,
        description=(
            "The in-cluster reaper (CronJob ailab-reaper in <name>-system); None leaves expiry to `ailab sandbox reap` "
            "run from a workstation."
        ),
    )
