"""The platform's namespaces, each with Pod Security Admission labels, a ResourceQuota and a LimitRange.

Every platform namespace enforces PSA ``restricted`` except the GPU operator's: its operands
(device plugin, GPU feature discovery, DCGM exporter, MIG manager, validators) are DaemonSets
that need privileged containers, host paths (``/dev``, ``/run/nvidia``, the kubelet's
device-plugin socket directory) and, for the MIG manager, the host PID namespace. PSA cannot
exempt single pods, so that one namespace enforces ``privileged``; ``audit`` and ``warn`` stay
``restricted`` so every deviation still shows in the API server's audit log. Nobody but the
operator runs there: architects only get read access to it (see :mod:`.rbac`), and the chart's
own ``psa.enabled`` switch stays off so the operator does not relabel a namespace Pulumi owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, quota
from ailab.spec import labels, naming
from ailab.spec.model import LabSpec

PSA_PRIVILEGED_REASON = (
    "NVIDIA GPU operator: its DaemonSets need privileged containers, host paths and the host PID namespace; "
    "PSA enforce is privileged here only, audit and warn stay restricted"
)


def psa_labels(spec: LabSpec, namespace: str) -> dict[str, str]:
    """PSA labels: ``restricted`` everywhere, ``privileged`` enforcement in the GPU operator's namespace alone."""
    psa = labels.psa_restricted()
    if namespace == naming.gpu_namespace(spec):
        psa[labels.PSA_ENFORCE] = "privileged"
    return psa


def namespace_components(spec: LabSpec) -> dict[str, str]:
    """Each platform namespace and the component it holds (its ``app.kubernetes.io/component`` label)."""
    components = {
        naming.mlflow_namespace(spec): meta.EXPERIMENT_TRACKING,
        naming.vector_db_namespace(spec): meta.VECTOR_DATABASE,
        naming.gpu_namespace(spec): meta.GPU_OPERATOR,
    }
    if spec.ingress is not None and spec.ingress.installed:
        components[naming.ingress_namespace(spec)] = meta.INGRESS
    if spec.sandbox.reaper is not None:
        components[naming.system_namespace(spec)] = meta.SANDBOX_EXPIRY
    assert set(components) == set(naming.platform_namespaces(spec)), "a platform namespace has no component"
    return components


@dataclass(frozen=True)
class PlatformNamespacesArgs:
    spec: LabSpec
    footprints: Mapping[str, quota.Footprint]
    """What each namespace holds (keys: every name of :func:`~ailab.spec.naming.platform_namespaces`)."""


class PlatformNamespaces(pulumi.ComponentResource):
    """One Namespace, ResourceQuota and LimitRange per platform namespace.

    ``names[ns]`` is the namespace's name as an Output of the Namespace resource: objects placed
    in it through this Output are created after it, and deleted before it.
    """

    names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: PlatformNamespacesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Namespaces", name, None, opts)
        spec = args.spec
        self.names = {}
        for namespace, component in namespace_components(spec).items():
            annotations = {labels.PURPOSE: PSA_PRIVILEGED_REASON} if namespace == naming.gpu_namespace(spec) else None
            created = k8s.core.v1.Namespace(
                f"{name}-{namespace}",
                metadata=meta.object_meta(
                    spec, namespace, component, extra_labels=psa_labels(spec, namespace), extra_annotations=annotations
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            ns_name = meta.name_of(created)
            self.names[namespace] = ns_name
            footprint = args.footprints[namespace]
            gpus = None if namespace == naming.gpu_namespace(spec) else quota.NO_GPUS
            k8s.core.v1.ResourceQuota(
                f"{name}-{namespace}-quota",
                metadata=meta.object_meta(spec, "platform-quota", component, ns_name),
                spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota.quota_hard(spec, footprint, gpus=gpus)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            k8s.core.v1.LimitRange(
                f"{name}-{namespace}-limits",
                metadata=meta.object_meta(spec, "platform-defaults", component, ns_name),
                spec=quota.limit_range_spec(
                    default_request=quota.DEFAULT_REQUEST,
                    # Where limits are not capped (the GPU operator's operands), none are imposed either.
                    default_limit=quota.DEFAULT_LIMIT if footprint.caps_limits else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"namespaces": self.names})
