"""The builders platform and sandboxes share, with the parameters a sandbox needs: each choice a test can see fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailab.infra.k8s import meta, pods, quota, sandbox_rbac
from ailab.infra.k8s.rbac import Grant
from ailab.spec import LabSpec, find_project, labels, load_stack_spec

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def aws() -> LabSpec:
    return load_stack_spec("aws-eu", find_project(REPO))[0]


@pytest.fixture(scope="module")
def onprem() -> LabSpec:
    return load_stack_spec("onprem", find_project(REPO))[0]


def test_a_tenant_owns_its_objects_in_place_of_the_lab_owner(aws: LabSpec) -> None:
    tenant = meta.Tenant(owner="alice", data_classification="confidential", labels={labels.AUDIT_ID: "a-1"})
    lab_meta = meta.object_meta(aws, "x", meta.SANDBOX, "ns")
    tenant_meta = meta.object_meta(aws, "x", meta.SANDBOX, "ns", tenant=tenant, extra_labels={"k": "v"})
    assert lab_meta.labels[labels.OWNER] == aws.tags.owner
    assert tenant_meta.labels[labels.OWNER] == "alice"
    assert tenant_meta.labels[labels.DATA_CLASSIFICATION] == "confidential"
    assert tenant_meta.labels[labels.AUDIT_ID] == "a-1" and tenant_meta.labels["k"] == "v"
    assert tenant_meta.labels[labels.COST_CENTRE] == aws.tags.cost_centre
    # the lab owner's contact would name the wrong person to ask about an audit's objects
    assert tenant_meta.annotations is None
    with_contact = meta.object_meta(aws, "x", meta.SANDBOX, tenant=meta.Tenant("alice", "internal", "alice@example.eu"))
    assert with_contact.annotations == {labels.OWNER_CONTACT: "alice@example.eu"}


def test_gpu_quota_zeroes_whole_gpus_and_every_pool_but_the_granted(onprem: LabSpec) -> None:
    """The on-premises lab's only pool is MIG-partitioned: a whole-GPU request must still be capped."""
    assert quota.gpu_hard(onprem, {}) == {"requests.nvidia.com/gpu": "0", "requests.nvidia.com/mig-3g.40gb": "0"}
    granted = quota.gpu_hard(onprem, {"requests.nvidia.com/mig-3g.40gb": 2})
    assert granted == {"requests.nvidia.com/gpu": "0", "requests.nvidia.com/mig-3g.40gb": "2"}


def test_quota_hard_options(aws: LabSpec) -> None:
    footprint = quota.Footprint(pods=2, millicores=1500, memory_bytes=2**31, storage_bytes=2**30)
    hard = quota.quota_hard(aws, footprint)
    assert hard["persistentvolumeclaims"] == "0" and hard["limits.cpu"] == "1500m" and hard["requests.memory"] == "2Gi"
    assert hard["requests.nvidia.com/gpu"] == "0"
    uncapped = quota.quota_hard(aws, quota.Footprint(pods=1, caps_claims=False, caps_limits=False), gpus=None)
    assert not {"persistentvolumeclaims", "limits.cpu", "limits.memory"} & uncapped.keys()
    assert not any("nvidia.com" in key for key in uncapped)


def test_limit_range_maxima_are_optional() -> None:
    plain = quota.limit_range_spec(default_request=quota.DEFAULT_REQUEST, default_limit=None)
    (container,) = plain.limits
    assert container.type == "Container" and container.default is None and container.max is None
    bounded = quota.limit_range_spec(
        default_request={"cpu": "1"}, default_limit={"cpu": "1"}, container_max={"cpu": "4"}, claim_max="10Gi"
    )
    assert [item.type for item in bounded.limits] == ["Container", "PersistentVolumeClaim"]
    assert bounded.limits[0].max == {"cpu": "4"} and bounded.limits[1].max == {"storage": "10Gi"}


def test_pods_run_on_system_nodes_unless_placed_elsewhere(aws: LabSpec) -> None:
    run_as = pods.RunAs(1000, 100)
    system = pods.hardened_pod_spec(run_as=run_as, service_account="sa", containers=[], volumes=[], spec=aws)
    assert system.node_selector == pods.system_node_selector(aws) and system.tolerations is None
    placed = pods.hardened_pod_spec(
        run_as=run_as, service_account="sa", containers=[], volumes=[], spec=aws, placement=pods.gpu_pool_placement("h100")
    )
    assert placed.node_selector is None
    (toleration,) = placed.tolerations
    assert (toleration.key, toleration.operator, toleration.value, toleration.effect) == (
        "nvidia.com/gpu",
        "Equal",
        "true",
        "NoSchedule",
    )
    (term,) = placed.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    (requirement,) = term.match_expressions
    assert (requirement.key, requirement.operator, requirement.values) == (labels.GPU_POOL, "In", ["h100"])
    assert placed.security_context.fs_group_change_policy == "OnRootMismatch"


def test_guaranteed_resources_with_an_extended_resource() -> None:
    from ailab.spec.model import Resources

    resources = pods.guaranteed_resources(Resources(cpu="2", memory="4Gi"), {"nvidia.com/gpu": "1"})
    assert resources.requests == resources.limits == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}


def test_a_grant_narrowed_to_named_objects() -> None:
    rule = Grant(("",), ("secrets",), ("get",), resource_names=("token",)).rule()
    assert rule.resource_names == ["token"]
    assert Grant(("",), ("pods",), ("get",)).rule().resource_names is None


def test_a_team_role_refuses_wildcards(aws: LabSpec) -> None:
    metadata = meta.object_meta(aws, "team", meta.SANDBOX, "ns")
    with pytest.raises(ValueError, match="no wildcards"):
        sandbox_rbac.namespaced_role("team", metadata, [Grant(("",), ("*",), ("get",))], opts=None)  # type: ignore[arg-type]


def test_team_subjects_carry_the_identity_providers_prefixes(aws: LabSpec, onprem: LabSpec) -> None:
    subjects = sandbox_rbac.team_subjects(aws, ["alice"], ["audit-1"])
    assert [(s.kind, s.name) for s in subjects] == [("User", "oidc:alice"), ("Group", "oidc:audit-1")]
    assert [s.name for s in sandbox_rbac.team_subjects(onprem, ["alice"])] == ["alice"]
