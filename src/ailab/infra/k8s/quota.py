"""What a namespace may consume: footprints summed into ResourceQuotas, and LimitRange defaults.

Each service module states its own :class:`Footprint` (from the spec); the platform adds them
up per namespace. The quota is therefore exactly what the lab deploys, plus the surge pod of a
rolling update: a runaway replica count or a stray pod is refused instead of silently eating
the capacity sandboxes were promised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pulumi_kubernetes as k8s

from ailab.spec import gpu_sharing
from ailab.spec.constants import WHOLE_GPU
from ailab.spec.model import LabSpec, Resources
from ailab.spec.types import byte_count, cpu_cores

_BINARY_UNITS = (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))

# A container that states no resources gets these (only the GPU operator's operands do).
DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


@dataclass(frozen=True)
class Footprint:
    """Pods, compute and storage a workload may hold at once in its namespace."""

    pods: int = 0
    millicores: int = 0
    memory_bytes: int = 0
    volume_claims: int = 0
    storage_bytes: int = 0
    caps_limits: bool = True
    """Whether limits are capped too (False where a third-party chart sets its own limits, see :mod:`.gpu`)."""
    caps_claims: bool = True
    """Whether the number of volume claims is capped too (False for a sandbox: its team splits its storage as it likes)."""
    load_balancers: int = 0
    """Services of type LoadBalancer (only the ingress controller's, see :mod:`.traefik`)."""
    node_ports: int = 0
    """Node ports those Services allocate: Kubernetes counts each port of a LoadBalancer Service as one."""

    @classmethod
    def of_pods(cls, count: int, resources: Resources) -> Footprint:
        """``count`` pods of one container sized ``resources`` (requests equal limits)."""
        return cls(
            pods=count,
            millicores=count * round(cpu_cores(resources.cpu) * 1000),
            memory_bytes=count * byte_count(resources.memory),
        )

    @classmethod
    def of_volumes(cls, *sizes: str) -> Footprint:
        return cls(volume_claims=len(sizes), storage_bytes=sum(byte_count(size) for size in sizes))

    def __add__(self, other: Footprint) -> Footprint:
        return Footprint(
            pods=self.pods + other.pods,
            millicores=self.millicores + other.millicores,
            memory_bytes=self.memory_bytes + other.memory_bytes,
            volume_claims=self.volume_claims + other.volume_claims,
            storage_bytes=self.storage_bytes + other.storage_bytes,
            caps_limits=self.caps_limits and other.caps_limits,
            caps_claims=self.caps_claims and other.caps_claims,
            load_balancers=self.load_balancers + other.load_balancers,
            node_ports=self.node_ports + other.node_ports,
        )


def format_bytes(count: int) -> str:
    """The largest exact binary unit: ``format_bytes(3 * 2**30) == "3Gi"``."""
    for suffix, size in _BINARY_UNITS:
        if count and count % size == 0:
            return f"{count // size}{suffix}"
    return str(count)


def format_millicores(millicores: int) -> str:
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


NO_GPUS: Mapping[str, int] = MappingProxyType({})


def gpu_hard(spec: LabSpec, granted: Mapping[str, int]) -> dict[str, str]:
    """Quota keys for every GPU resource of the lab (and whole GPUs) at 0, but ``granted`` (quota key to count).

    A resource with no quota key is unlimited: without the zeros a namespace could still request,
    say, ``nvidia.com/mig-1g.10gb``, or a whole GPU on a lab whose pools are all MIG-partitioned.
    """
    hard = dict.fromkeys([f"requests.{WHOLE_GPU}", *(gpu_sharing.quota_key(pool) for pool in spec.gpu_pools)], "0")
    hard |= {key: str(count) for key, count in granted.items()}
    return dict(sorted(hard.items()))


def quota_hard(spec: LabSpec, footprint: Footprint, *, gpus: Mapping[str, int] | None = NO_GPUS) -> dict[str, str]:
    """``ResourceQuota.spec.hard`` for a namespace holding ``footprint`` and the GPUs ``gpus`` (see :func:`gpu_hard`).

    No NodePorts or load balancers but those the footprint states (the lab's ingress
    controller's one load balancer), and no GPU but those granted: GPUs are for sandboxes.
    ``gpus=None`` leaves GPUs uncapped, for the GPU operator's namespace (its validator pods
    request one).
    """
    cpu = format_millicores(footprint.millicores)
    memory = format_bytes(footprint.memory_bytes)
    hard = {
        "pods": str(footprint.pods),
        "requests.cpu": cpu,
        "requests.memory": memory,
        "requests.storage": format_bytes(footprint.storage_bytes),
        "services.loadbalancers": str(footprint.load_balancers),
        "services.nodeports": str(footprint.node_ports),
    }
    if footprint.caps_claims:
        hard["persistentvolumeclaims"] = str(footprint.volume_claims)
    if footprint.caps_limits:
        hard |= {"limits.cpu": cpu, "limits.memory": memory}
    if gpus is not None:
        hard |= gpu_hard(spec, gpus)
    return hard


def limit_range_spec(
    *,
    default_request: Mapping[str, str],
    default_limit: Mapping[str, str] | None,
    container_max: Mapping[str, str] | None = None,
    claim_max: str | None = None,
) -> k8s.core.v1.LimitRangeSpecArgs:
    """Defaults for containers that state no resources (so the quota can admit them), and optional maxima.

    ``default_limit`` None imposes no limit where none is capped (the GPU operator's operands);
    ``container_max`` and ``claim_max`` bound one container and one volume claim.
    """
    items = [
        k8s.core.v1.LimitRangeItemArgs(
            type="Container",
            default_request=dict(default_request),
            default=dict(default_limit) if default_limit is not None else None,
            max=dict(container_max) if container_max is not None else None,
        )
    ]
    if claim_max is not None:
        items.append(k8s.core.v1.LimitRangeItemArgs(type="PersistentVolumeClaim", max={"storage": claim_max}))
    return k8s.core.v1.LimitRangeSpecArgs(limits=items)
