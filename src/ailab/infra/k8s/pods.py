"""Hardened pod building blocks shared by every workload the lab runs (MLflow, PostgreSQL, Qdrant, sandboxes' workbenches).

One definition of "hardened", so the services cannot drift apart and the policy rules on pod
security (non-root, no privilege escalation, capabilities dropped, read-only root filesystem,
seccomp, no token automount) pass for all of them. Each workload gets a fixed uid/gid so file
ownership on its volumes is predictable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s.meta import Tenant, object_meta
from ailab.spec import labels
from ailab.spec.gpu_sharing import gpu_taint
from ailab.spec.model import LabSpec, Resources

RUNTIME_DEFAULT = "RuntimeDefault"


@dataclass(frozen=True)
class RunAs:
    """The identity a workload's containers run as; the group also owns its volumes (``fsGroup``)."""

    uid: int
    gid: int

    def __post_init__(self) -> None:
        if self.uid == 0 or self.gid == 0:
            raise ValueError("platform workloads never run as root")


def pod_security_context(run_as: RunAs) -> k8s.core.v1.PodSecurityContextArgs:
    """Pod-level: non-root, the workload's uid/gid, volumes group-owned by its gid, the runtime's seccomp profile."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as.uid,
        run_as_group=run_as.gid,
        fs_group=run_as.gid,
        # Re-chowning a large volume on every start is slow; only do it when the root is wrong.
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type=RUNTIME_DEFAULT),
    )


def container_security_context(run_as: RunAs) -> k8s.core.v1.SecurityContextArgs:
    """Container-level, repeated from the pod so each container is hardened on its own (PSA ``restricted`` and more)."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as.uid,
        run_as_group=run_as.gid,
        privileged=False,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type=RUNTIME_DEFAULT),
    )


def guaranteed_resources(resources: Resources, extended: Mapping[str, str] | None = None) -> k8s.core.v1.ResourceRequirementsArgs:
    """Requests equal to limits: Guaranteed QoS, so a busy sandbox cannot starve a shared service.

    ``extended`` resources (a GPU pool's ``nvidia.com/...``) are requested the same way.
    """
    amounts = {"cpu": resources.cpu, "memory": resources.memory, **(extended or {})}
    return k8s.core.v1.ResourceRequirementsArgs(requests=amounts, limits=dict(amounts))


@dataclass(frozen=True)
class Scratch:
    """A writable emptyDir for a container whose root filesystem is read-only (``/tmp``, sockets, caches)."""

    name: str
    mount_path: str
    size_limit: str = "256Mi"
    in_memory: bool = False

    def volume(self) -> k8s.core.v1.VolumeArgs:
        return k8s.core.v1.VolumeArgs(
            name=self.name,
            empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                size_limit=self.size_limit, medium="Memory" if self.in_memory else None
            ),
        )

    def mount(self) -> k8s.core.v1.VolumeMountArgs:
        return k8s.core.v1.VolumeMountArgs(name=self.name, mount_path=self.mount_path)


TMP = Scratch("tmp", "/tmp")


def http_probe(path: str, port: str, *, initial_delay: int, period: int = 10, failures: int = 3) -> k8s.core.v1.ProbeArgs:
    """An HTTP GET probe on a named container port."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port),
        initial_delay_seconds=initial_delay,
        period_seconds=period,
        timeout_seconds=5,
        failure_threshold=failures,
    )


def secret_env(name: str, secret_name: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgs:
    """An environment variable read from a Secret: the only way a credential reaches a container."""
    return k8s.core.v1.EnvVarArgs(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret_name, key=key)),
    )


def plain_env(values: Mapping[str, pulumi.Input[str]]) -> list[k8s.core.v1.EnvVarArgs]:
    """Literal environment variables, for settings that are not secret."""
    return [k8s.core.v1.EnvVarArgs(name=name, value=value) for name, value in values.items()]


def system_node_selector(spec: LabSpec) -> dict[str, str] | None:
    """Where shared services run: the system pool's nodes (on-premises selector, or the labels EKS puts on the group)."""
    pool = spec.system_pool
    selector = pool.node_selector or pool.labels
    return dict(selector) or None


@dataclass(frozen=True)
class Placement:
    """Which nodes a pod may run on: a node selector, the taints it tolerates, a required node affinity."""

    node_selector: Mapping[str, str] | None = None
    tolerations: Sequence[k8s.core.v1.TolerationArgs] = ()
    affinity: k8s.core.v1.AffinityArgs | None = None


def system_placement(spec: LabSpec) -> Placement:
    """The shared services' nodes (:func:`system_node_selector`)."""
    return Placement(node_selector=system_node_selector(spec))


def gpu_pool_placement(pool: str) -> Placement:
    """The nodes of GPU pool ``pool``: tolerate the GPU taint, and require the pool's label (the taint alone only permits)."""
    on_pool = k8s.core.v1.NodeSelectorRequirementArgs(key=labels.GPU_POOL, operator="In", values=[pool])
    taint = gpu_taint()
    return Placement(
        tolerations=[
            k8s.core.v1.TolerationArgs(key=taint["key"], operator="Equal", value=taint["value"], effect=taint["effect"])
        ],
        affinity=k8s.core.v1.AffinityArgs(
            node_affinity=k8s.core.v1.NodeAffinityArgs(
                required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                    node_selector_terms=[k8s.core.v1.NodeSelectorTermArgs(match_expressions=[on_pool])]
                )
            )
        ),
    )


def hardened_pod_spec(
    *,
    run_as: RunAs,
    service_account: pulumi.Input[str],
    containers: Sequence[k8s.core.v1.ContainerArgs],
    volumes: Sequence[k8s.core.v1.VolumeArgs],
    spec: LabSpec,
    termination_grace_seconds: int = 30,
    restart_policy: str | None = None,
    placement: Placement | None = None,
) -> k8s.core.v1.PodSpecArgs:
    """A pod spec with the lab's invariants: own ServiceAccount, no API token, non-root, on the system nodes.

    The Kubernetes API token is never mounted: none of the services talks to the API server.
    (On AWS, MLflow's IRSA credentials come from a separate projected token whose audience is
    ``sts.amazonaws.com``, injected by the EKS pod identity webhook; see :mod:`.mlflow`.)
    ``placement`` moves the pod off the system nodes (a sandbox's workloads; default
    :func:`system_placement`).
    """
    placement = placement or system_placement(spec)
    return k8s.core.v1.PodSpecArgs(
        service_account_name=service_account,
        automount_service_account_token=False,
        enable_service_links=False,
        security_context=pod_security_context(run_as),
        containers=list(containers),
        volumes=list(volumes),
        node_selector=dict(placement.node_selector) if placement.node_selector else None,
        tolerations=list(placement.tolerations) or None,
        affinity=placement.affinity,
        termination_grace_period_seconds=termination_grace_seconds,
        restart_policy=restart_policy,
    )


def workload_service_account(
    resource_name: str,
    spec: LabSpec,
    *,
    name: str,
    namespace: pulumi.Input[str],
    component: str,
    parent: pulumi.Resource,
    annotations: Mapping[str, pulumi.Input[str]] | None = None,
    tenant: Tenant | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.core.v1.ServiceAccount:
    """A workload's own ServiceAccount (never ``default``), with token automount off and no RBAC bound to it."""
    return k8s.core.v1.ServiceAccount(
        resource_name,
        metadata=object_meta(spec, name, component, namespace, tenant=tenant, extra_annotations=annotations),
        automount_service_account_token=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
