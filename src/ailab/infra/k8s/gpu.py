"""The NVIDIA GPU operator: one pinned Helm release plus the device plugin's per-pool configuration.

The sharing mode of each GPU pool (exclusive, time-slicing, MIG) reaches the nodes this way:
the ``device-plugin-config`` ConfigMap holds one entry per pool
(:func:`~ailab.infra.k8s.gpu_config.device_plugin_config`), each node's
``nvidia.com/device-plugin.config`` label picks its pool's entry, and the operator's values
(:func:`~ailab.infra.k8s.gpu_config.gpu_operator_values`) point the device plugin at the ConfigMap.
The release is made by :func:`ailab.infra.k8s.helm.release`, like every chart the lab installs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra import tagging
from ailab.infra.k8s import gpu_config, helm, meta
from ailab.infra.k8s.quota import Footprint
from ailab.spec.model import LabSpec, Resources

GPU_OPERATOR_CHART = "gpu-operator"
GPU_OPERATOR_CHART_VERSION = "v26.7.0"
"""NVIDIA's supported major line (26.7.x; 26.3.x is deprecated, 25.x and older out of support)."""
NVIDIA_HELM_REPO = "https://helm.ngc.nvidia.com/nvidia"

# Sizing of the quota of the operator's namespace, from what the chart deploys: per GPU node the
# device plugin, GPU feature discovery, DCGM exporter, MIG manager and three validators (8 with
# headroom); an NFD worker on every node; the operator, NFD master and NFD garbage collector.
OPERAND_PODS_PER_GPU_NODE = 8
CONTROLLER_PODS = 3
ESTIMATED_POD_REQUESTS = Resources(cpu="200m", memory="256Mi")


def footprint(spec: LabSpec) -> Footprint:
    """A ceiling on the operator's pods and requests, scaled by the largest the node pools may grow.

    Limits are not capped: NVIDIA's chart sets its own (NFD master asks for a 4 GiB memory limit),
    and second-guessing them would only break the operator on a busy node.
    """
    gpu_nodes = sum(pool.max_size for pool in spec.gpu_pools)
    all_nodes = gpu_nodes + spec.system_pool.max_size
    pods = OPERAND_PODS_PER_GPU_NODE * gpu_nodes + all_nodes + CONTROLLER_PODS
    return replace(Footprint.of_pods(pods, ESTIMATED_POD_REQUESTS), caps_limits=False)


def operator_values(spec: LabSpec) -> dict[str, Any]:
    """The chart's values: the spec's (:func:`~ailab.infra.k8s.gpu_config.gpu_operator_values`) plus the lab's labels on the operands."""
    values = gpu_config.gpu_operator_values(spec)
    values["daemonsets"] = {
        **values.get("daemonsets", {}),
        "labels": tagging.k8s_labels(spec, meta.GPU_OPERATOR),
        "annotations": tagging.k8s_annotations(spec),
    }
    # The namespace's PSA labels are Pulumi's (see .namespaces); the operator must not rewrite them.
    values["psa"] = {"enabled": False}
    return values


@dataclass(frozen=True)
class GpuOperatorArgs:
    spec: LabSpec
    namespace: pulumi.Input[str]


class GpuOperator(pulumi.ComponentResource):
    """The device plugin's ConfigMap, then the GPU operator release that reads it."""

    def __init__(self, name: str, args: GpuOperatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:GpuOperator", name, None, opts)
        spec = args.spec
        config = k8s.core.v1.ConfigMap(
            f"{name}-device-plugin-config",
            metadata=meta.object_meta(spec, gpu_config.DEVICE_PLUGIN_CONFIGMAP, meta.GPU_OPERATOR, args.namespace),
            data=gpu_config.device_plugin_config(spec),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = helm.release(
            f"{name}-release",
            helm.Chart(GPU_OPERATOR_CHART, GPU_OPERATOR_CHART_VERSION, NVIDIA_HELM_REPO),
            release_name=GPU_OPERATOR_CHART,
            namespace=args.namespace,
            values=operator_values(spec),
            timeout_s=900,
            parent=self,
            after=[config],
        )
        self.register_outputs({"namespace": args.namespace, "chartVersion": GPU_OPERATOR_CHART_VERSION})
