"""From a GPU pool's sharing mode to the names Kubernetes and the nodes use.

* the extended resource a pod requests and a quota limits (``nvidia.com/gpu`` or
  ``nvidia.com/mig-1g.10gb``);
* the node labels that select the pool's device-plugin entry and, for MIG, the MIG manager's
  layout, and the taint of GPU nodes.

The platform layer, the sandbox quota, the node groups and the host roles all use this one
module; what the GPU operator and its device plugin are configured with is rendered from the
spec in :mod:`ailab.infra.k8s.gpu_config`.
"""

from __future__ import annotations

from ailab.spec import labels
from ailab.spec.constants import WHOLE_GPU
from ailab.spec.model import GpuPool, MigSharing


def _mig_profile_name(profile: str) -> str:
    """A MIG profile as NVIDIA's Kubernetes components spell it: ``1g.10gb+me`` → ``1g.10gb.me``.

    The device plugin advertises ``nvidia.com/mig-1g.10gb.me`` and the MIG manager's default
    configs are named ``all-1g.10gb.me``; a ``+`` is valid in neither a resource name nor a label value.
    """
    return profile.replace("+", ".")


def resource_name(pool: GpuPool) -> str:
    """The extended resource a pod on ``pool`` requests, e.g. ``nvidia.com/mig-1g.10gb``."""
    sharing = pool.sharing
    if isinstance(sharing, MigSharing) and sharing.strategy == "mixed":
        return f"nvidia.com/mig-{_mig_profile_name(sharing.profile)}"
    return WHOLE_GPU


def quota_key(pool: GpuPool) -> str:
    """The ResourceQuota key that caps requests of the pool's resource."""
    return f"requests.{resource_name(pool)}"


def pool_node_labels(pool: GpuPool) -> dict[str, str]:
    """Labels every node of ``pool`` carries so the GPU operator configures it as the spec says."""
    node_labels = {
        labels.GPU_PRESENT: "true",
        labels.GPU_POOL: pool.name,
        labels.DEVICE_PLUGIN_CONFIG: pool.name,
    }
    if isinstance(pool.sharing, MigSharing):
        node_labels[labels.MIG_CONFIG] = f"all-{_mig_profile_name(pool.sharing.profile)}"
    else:
        node_labels[labels.MIG_CONFIG] = "all-disabled"
    return node_labels


def gpu_taint() -> dict[str, str]:
    """The taint every GPU node carries, so only pods that tolerate it (GPU work) land there."""
    return {"key": labels.GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"}
