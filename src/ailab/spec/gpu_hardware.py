"""What the lab's hardware can do: EC2 instance types, the NVIDIA GPU each GPU family carries,
and the MIG profiles each GPU model offers.

Mistakes here pass every other check and fail only on the nodes: a typo in an instance type fails
the node group after the cluster is built, and a MIG profile the GPU lacks leaves the MIG manager
failing on every node. They are caught at validation instead.

- Instance types: the ``InstanceType`` enumeration of botocore's bundled EC2 service model, the list
  the EC2 API itself validates against (no network, no credentials). Loaded once per process.
- GPUs per family: AWS's accelerated-computing instance pages.
- MIG profiles: NVIDIA's MIG user guide, "Supported MIG profiles", per GPU model.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class GpuModel:
    name: str
    mig_profiles: frozenset[str] = frozenset()
    """Empty: the GPU has no MIG (or ailab does not know its profiles; see :attr:`mig_unknown`)."""
    mig_unknown: bool = False
    """MIG-capable, but its profiles are not in ailab's table yet: a MIG pool on it is refused."""


def _profiles(*names: str) -> frozenset[str]:
    """Each profile, and its ``+me`` (media extensions) variant where NVIDIA offers one (the smallest slice)."""
    return frozenset({*names, f"{names[0]}+me"})


V100_16 = GpuModel("NVIDIA V100 16GB")
V100_32 = GpuModel("NVIDIA V100 32GB")
T4 = GpuModel("NVIDIA T4 16GB")
A10G = GpuModel("NVIDIA A10G 24GB")
L4 = GpuModel("NVIDIA L4 24GB")
L40S = GpuModel("NVIDIA L40S 48GB")
A100_40 = GpuModel("NVIDIA A100 40GB", _profiles("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"))
A100_80 = GpuModel("NVIDIA A100 80GB", _profiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"))
H100_80 = GpuModel("NVIDIA H100 80GB", _profiles("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"))
H200_141 = GpuModel("NVIDIA H200 141GB", _profiles("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"))
B200_180 = GpuModel("NVIDIA B200 180GB", _profiles("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"))
B300 = GpuModel("NVIDIA B300", mig_unknown=True)
GB200 = GpuModel("NVIDIA GB200", mig_unknown=True)

GPU_BY_FAMILY: dict[str, GpuModel] = {
    "p3": V100_16,
    "p3dn": V100_32,
    "g4dn": T4,
    "g5": A10G,
    "g6": L4,
    "gr6": L4,
    "g6f": L4,  # fractions of an L4, time-shared by the hypervisor: no MIG
    "g6e": L40S,
    "p4d": A100_40,
    "p4de": A100_80,
    "p5": H100_80,
    "p5e": H200_141,
    "p5en": H200_141,
    "p6-b200": B200_180,
    "p6-b300": B300,
    "p6e-gb200": GB200,
}
"""EC2 families with NVIDIA GPUs, and the GPU of each."""


def instance_family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def gpu_of(instance_type: str) -> GpuModel | None:
    """The NVIDIA GPU of ``instance_type``, or None for a type without one."""
    return GPU_BY_FAMILY.get(instance_family(instance_type))


@cache
def ec2_instance_types() -> frozenset[str]:
    """Every instance type botocore's bundled EC2 model knows."""
    import botocore.loaders  # ~0.4 s: only when an AWS spec is validated

    model = botocore.loaders.Loader().load_service_model("ec2", "service-2")
    return frozenset(model["shapes"]["InstanceType"]["enum"])


def instance_type_problem(instance_type: str) -> str | None:
    """Why ``instance_type`` is not an EC2 instance type, with the nearest real ones; None when it is one."""
    known = ec2_instance_types()
    if instance_type in known:
        return None
    near = difflib.get_close_matches(instance_type, sorted(known), n=3, cutoff=0.8)
    hint = f"did you mean {', '.join(near)}?" if near else "see the EC2 instance types of your region"
    return f"{instance_type!r} is not an EC2 instance type; {hint}"


def mig_problem(instance_type: str, profile: str) -> str | None:
    """Why MIG ``profile`` cannot run on ``instance_type``'s GPU; None when it can."""
    gpu = gpu_of(instance_type)
    if gpu is None:
        return None  # a type without a GPU is refused on its own
    if gpu.mig_unknown:
        return f"ailab has no MIG profile table for the {gpu.name} of {instance_type} yet; use exclusive or time-slicing sharing"
    if not gpu.mig_profiles:
        return f"the {gpu.name} of {instance_type} has no MIG; use exclusive or time-slicing sharing"
    if profile not in gpu.mig_profiles:
        offered = ", ".join(sorted(gpu.mig_profiles, key=_profile_order))
        return f"the {gpu.name} of {instance_type} has no MIG profile {profile}; it offers {offered}"
    return None


def _profile_order(profile: str) -> tuple[int, float, str]:
    slices, _, rest = profile.partition("g.")
    memory = rest.split("gb", 1)[0]
    return int(slices), float(memory), profile
