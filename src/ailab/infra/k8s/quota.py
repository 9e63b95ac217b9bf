"""What each platform namespace may consume: footprints summed into ResourceQuotas, and LimitRange defaults.

Each service module states its own :class:`Footprint` (from the spec); the platform adds them
up per namespace. The quota is therefore exactly what the lab deploys, plus the surge pod of a
rolling update: a runaway replica count or a stray pod is refused instead of silently eating
the capacity sandboxes were promised.
"""

from __future__ import annotations

from dataclasses import dataclass

from ailab.spec import gpu_sharing
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


def quota_hard(spec: LabSpec, footprint: Footprint, *, allow_gpus: bool = False) -> dict[str, str]:
    """``ResourceQuota.spec.hard`` for a namespace holding ``footprint``.

    Platform namespaces expose no NodePorts or load balancers but those their footprint states
    (the lab's ingress controller's one load balancer), and outside the GPU operator's namespace (whose validator pods request a GPU) no pod
    may request one: GPUs are for sandboxes.
    """
    cpu = format_millicores(footprint.millicores)
    memory = format_bytes(footprint.memory_bytes)
    hard = {
        "pods": str(footprint.pods),
        "requests.cpu": cpu,
        "requests.memory": memory,
        "persistentvolumeclaims": str(footprint.volume_claims),
        "requests.storage": format_bytes(footprint.storage_bytes),
        "services.loadbalancers": str(footprint.load_balancers),
        "services.nodeports": str(footprint.node_ports),
    }
    if footprint.caps_limits:
        hard |= {"limits.cpu": cpu, "limits.memory": memory}
    if not allow_gpus:
        hard |= {gpu_sharing.quota_key(pool): "0" for pool in spec.gpu_pools}
    return hard
