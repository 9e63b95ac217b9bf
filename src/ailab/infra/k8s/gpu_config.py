"""What the NVIDIA GPU operator and its device plugin are told, rendered from the spec.

* the device plugin configuration: one named entry per pool, selected on the nodes by the
  ``nvidia.com/device-plugin.config`` label (:func:`ailab.spec.gpu_sharing.pool_node_labels`),
  as the GPU operator documents;
* the GPU operator's Helm values.
"""

from __future__ import annotations

from typing import Any

import yaml

from ailab.spec.constants import WHOLE_GPU
from ailab.spec.gpu_sharing import gpu_taint
from ailab.spec.model import ExclusiveSharing, GpuPool, LabSpec, MigSharing, TimeSlicingSharing

DEVICE_PLUGIN_CONFIGMAP = "device-plugin-config"


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
