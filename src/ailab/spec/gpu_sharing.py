"""From a GPU pool's sharing mode to what Kubernetes needs.

* the extended resource a pod requests and a quota limits (``nvidia.com/gpu`` or
  ``nvidia.com/mig-1g.10gb``);
* the NVIDIA device plugin configuration (one named entry per pool, selected on the nodes
  by the ``nvidia.com/device-plugin.config`` label, as the GPU operator documents);
* the node labels that select that entry and, for MIG, the MIG manager's layout;
* the GPU operator's Helm values.

The platform layer, the sandbox quota and the node labels all use this one module.
"""

from __future__ import annotations

from typing import Any

import yaml

from ailab.spec import labels
from ailab.spec.constants import WHOLE_GPU
from ailab.spec.model import ExclusiveSharing, GpuPool, LabSpec, MigSharing, TimeSlicingSharing

DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"


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


def schedulable_units(pool: GpuPool) -> int:
    """How many of the pool's resource one node advertises (GPUs times time-slicing replicas).

    MIG units depend on the GPU model and profile and are reported by the device plugin;
    they are counted as one per GPU here, the lower bound.
    """
    sharing = pool.sharing
    if isinstance(sharing, TimeSlicingSharing):
        return pool.gpus_per_node * sharing.replicas
    return pool.gpus_per_node


def device_plugin_entry(pool: GpuPool) -> dict[str, Any]:
    """The device plugin's config (``version: v1``) for one pool."""
    sharing = pool.sharing
    if isinstance(sharing, TimeSlicingSharing):
        return {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {
                "timeSlicing": {
                    "renameByDefault": False,
                    "failRequestsGreaterThanOne": True,
                    "resources": [{"name": WHOLE_GPU, "replicas": sharing.replicas}],
                }
            },
        }
    if isinstance(sharing, MigSharing):
        return {"version": "v1", "flags": {"migStrategy": sharing.strategy}}
    assert isinstance(sharing, ExclusiveSharing)
    return {"version": "v1", "flags": {"migStrategy": "none"}}


def device_plugin_config(spec: LabSpec) -> dict[str, str]:
    """ConfigMap data: one YAML document per pool, keyed by pool name."""
    return {pool.name: yaml.safe_dump(device_plugin_entry(pool), sort_keys=True) for pool in spec.gpu_pools}


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


def mig_strategy(spec: LabSpec) -> str:
    """The cluster-wide MIG strategy: that of the MIG pools (validated to agree), else ``none``."""
    for pool in spec.gpu_pools:
        if isinstance(pool.sharing, MigSharing):
            return pool.sharing.strategy
    return "none"


def gpu_operator_values(spec: LabSpec) -> dict[str, Any]:
    """Helm values for NVIDIA's ``gpu-operator`` chart.

    Drivers and the container toolkit come with the node image on EKS (the NVIDIA AMI type)
    and from the ``gpu_node`` Ansible role on-premises, so the operator does not install them.
    """
    uses_mig = any(isinstance(pool.sharing, MigSharing) for pool in spec.gpu_pools)
    return {
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "mig": {"strategy": mig_strategy(spec)},
        "migManager": {"enabled": uses_mig, "config": {"default": "all-disabled"}},
        "devicePlugin": {"config": {"name": DEVICE_PLUGIN_CONFIGMAP, "default": spec.gpu_pools[0].name}},
        "dcgmExporter": {"enabled": True},
        "nfd": {"enabled": True},
        "daemonsets": {"tolerations": [{**gpu_taint(), "operator": "Equal"}]},
    }
