"""Governance of shared capacity: requests and limits on every container, quotas and limit
ranges in every sandbox (including a GPU quota), and a quota wherever workloads run."""

from __future__ import annotations

from collections.abc import Iterator

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.namespaces import by_namespace, namespaces, sandbox_namespaces
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, containers
from ailab.policy.rules.helpers.tokens import LIMIT_RANGE, NAMESPACE, RESOURCE_QUOTA
from ailab.policy.rules.helpers.values import ev, is_unknown, mapping
from ailab.spec.constants import WHOLE_GPU

_CAPACITY = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_CAPACITY, c.NSA_RESOURCE_POLICIES]
_REQUIRED = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


@resource_rule(
    id="AILAB-GOV-001",
    title="Containers request and limit CPU and memory",
    severity="medium",
    rationale=(
        "Without requests the scheduler overcommits nodes; without limits one runaway evaluation starves MLflow, "
        "Qdrant and every other sandbox on the node (availability is part of security of processing)."
    ),
    remediation="Set resources.requests and resources.limits for cpu and memory on every container and init container.",
    types=list(WORKLOAD_TYPES),
    controls=_CAPACITY,
)
def requests_and_limits(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record, ("initContainers", "containers")):
        resources = ref.container.get("resources", MISSING)
        if is_unknown(resources):
            continue
        missing = []
        for section, resource in _REQUIRED:
            value = mapping(mapping(resources).get(section)).get(resource, MISSING)
            if value is MISSING or value is None or value == "":
                missing.append(ev(f"{ref.path}.resources.{section}.{resource}", MISSING))
        if missing:
            names = ", ".join(e.path.rsplit(".resources.", 1)[1] for e in missing)
            yield Violation(f"Container {ref.name} sets no {names}", tuple(missing))


@stack_rule(
    id="AILAB-GOV-002",
    title="Sandbox namespaces have a ResourceQuota and a LimitRange",
    severity="high",
    rationale=(
        "A sandbox's profile (CPU, memory, storage, pods) is only a promise until a ResourceQuota enforces it; the "
        "LimitRange gives defaults to pods an auditor starts without resources, which the quota would otherwise refuse."
    ),
    remediation="Create a ResourceQuota and a LimitRange in the sandbox namespace from its profile (the sandbox program does).",
    types=[NAMESPACE, RESOURCE_QUOTA, LIMIT_RANGE],
    controls=[*_CAPACITY, c.ISO_SEPARATION],  # sandboxes are the test environments of evaluated systems
)
def sandbox_quota_and_limits(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    quotas = by_namespace(records, RESOURCE_QUOTA)
    limits = by_namespace(records, LIMIT_RANGE)
    for name, namespace in sandbox_namespaces(records).items():
        if quotas.lacks(name):
            yield Violation(f"Sandbox namespace {name} has no ResourceQuota", (ev("ResourceQuota", MISSING),), namespace)
        if limits.lacks(name):
            yield Violation(f"Sandbox namespace {name} has no LimitRange", (ev("LimitRange", MISSING),), namespace)


_GPU_QUOTA = f"requests.{WHOLE_GPU}"
_MIG_QUOTA_PREFIX = f"requests.{WHOLE_GPU.split('/', 1)[0]}/mig-"


@stack_rule(
    id="AILAB-GOV-003",
    title="Sandbox quotas cap GPUs",
    severity="high",
    rationale=(
        "GPUs are the lab's scarcest resource; without requests.nvidia.com/gpu (or a MIG resource) in the quota a "
        "CPU-only sandbox can take GPUs and a GPU sandbox can take all of them."
    ),
    remediation=(
        "Put requests.nvidia.com/gpu (or requests.nvidia.com/mig-<profile>) in the sandbox's ResourceQuota "
        'spec.hard, "0" for profiles without GPUs.'
    ),
    types=[NAMESPACE, RESOURCE_QUOTA],
    controls=_CAPACITY,
)
def sandbox_gpu_quota(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    quotas = by_namespace(records, RESOURCE_QUOTA)
    for name, namespace in sandbox_namespaces(records).items():
        hard_keys: list[str] = []
        for quota in quotas.candidates(name):
            hard = quota.get("spec.hard")
            if is_unknown(hard):
                break
            hard_keys.extend(key for key in mapping(hard) if isinstance(key, str))
        else:
            if not any(key == _GPU_QUOTA or key.startswith(_MIG_QUOTA_PREFIX) for key in hard_keys):
                yield Violation(
                    f"No ResourceQuota in sandbox namespace {name} caps {_GPU_QUOTA} or a MIG resource",
                    (ev(f'spec.hard["{_GPU_QUOTA}"]', MISSING),),
                    quotas[name][0] if name in quotas else namespace,
                )


@stack_rule(
    id="AILAB-GOV-004",
    title="Every namespace that runs workloads has a ResourceQuota",
    severity="medium",
    rationale="A namespace without a quota can grow until it exhausts the cluster, taking the shared services and sandboxes down with it.",
    remediation="Create a ResourceQuota in the namespace sized for its workloads (MLflow, Qdrant, PostgreSQL, the GPU operator).",
    types=[*WORKLOAD_TYPES, RESOURCE_QUOTA, NAMESPACE],
    controls=_CAPACITY,
)
def workload_namespace_quota(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    quotas = by_namespace(records, RESOURCE_QUOTA)
    declared = namespaces(records)
    for name, workloads in sorted(by_namespace(records, *WORKLOAD_TYPES).items()):
        if quotas.lacks(name):
            owner = declared.get(name, workloads[0])
            yield Violation(
                f"Namespace {name} runs {len(workloads)} workload(s) but has no ResourceQuota",
                (ev("metadata.namespace" if owner is workloads[0] else "metadata.name", name),),
                owner,
            )
