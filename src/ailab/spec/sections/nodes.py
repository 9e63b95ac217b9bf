"""The ``cluster``, ``system_pool`` and ``gpu_pools`` sections: the cluster, its node pools and how pods share GPUs."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ailab.spec import gpu_hardware
from ailab.spec.kubernetes_support import DEFAULT_VERSION
from ailab.spec.sections.common import LocatedValueError, StrictModel
from ailab.spec.types import DnsLabel


class ClusterSpec(StrictModel):
    """The Kubernetes cluster: created on AWS (EKS), adopted on-premises."""

    name: DnsLabel = Field(description="Cluster name (DNS label); the EKS cluster's name on AWS.")
    kubernetes_version: str = Field(
        default=DEFAULT_VERSION,
        pattern=r"^1\.[0-9]{2}$",
        description=(
            f"Minor version, quoted (e.g. '{DEFAULT_VERSION}'); one in standard support today: EKS's calendar on AWS, "
            "upstream Kubernetes's on-premises (docs/deploy.md, 'Upgrading Kubernetes')."
        ),
    )


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

# Graviton families have a "g" after the generation digit: m7g, c6gn, r8gd, t4g.
_GRAVITON = re.compile(r"^[a-z]+[0-9]+[a-z]*g[a-z]*\.")


def is_graviton(instance_type: str) -> bool:
    """True for an Arm (AWS Graviton) instance type."""
    return bool(_GRAVITON.match(instance_type))


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
        # A GPU pool of m5.large is a mistake worth catching early.
        for index, instance_type in enumerate(value):
            if gpu_hardware.gpu_of(instance_type) is None:
                families = ", ".join(gpu_hardware.GPU_BY_FAMILY)
                raise LocatedValueError((index,), f"{instance_type!r} has no NVIDIA GPU; use a type of the families {families}")
        return value

    @model_validator(mode="after")
    def _sharing_fits_the_gpu(self) -> GpuPool:
        """MIG only on GPUs that have it, and only with a profile the GPU offers (an H100 has no 1g.5gb)."""
        if isinstance(self.sharing, MigSharing):
            for index, instance_type in enumerate(self.instance_types):
                problem = gpu_hardware.mig_problem(instance_type, self.sharing.profile)
                if problem is not None:
                    raise LocatedValueError(("sharing", "profile"), f"{problem} (instance_types[{index}])")
        return self
