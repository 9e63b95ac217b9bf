"""Namespaces: PSA labels (restricted, privileged only for the GPU operator), ownership labels, quotas and limit ranges."""

from __future__ import annotations

from ailab.infra import tagging
from ailab.infra.k8s import gpu, namespaces, quota
from ailab.infra.k8s.platform import footprints
from ailab.spec import gpu_sharing, labels, naming

NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"


def test_every_platform_namespace_exists_with_the_labs_labels(lab):
    created = {ns["metadata"]["name"]: ns["metadata"] for ns in lab.of_type(NAMESPACE)}
    assert sorted(created) == sorted(naming.platform_namespaces(lab.spec))
    for metadata in created.values():
        assert tagging.k8s_labels(lab.spec).items() <= metadata["labels"].items()
        assert metadata["labels"][labels.COMPONENT]
        assert tagging.k8s_annotations(lab.spec).items() <= metadata["annotations"].items()


def test_service_namespaces_enforce_psa_restricted(lab):
    for name in (naming.mlflow_namespace(lab.spec), naming.vector_db_namespace(lab.spec)):
        metadata = lab.one(NAMESPACE, name)["metadata"]
        assert labels.psa_restricted().items() <= metadata["labels"].items()
        assert labels.PURPOSE not in metadata.get("annotations", {})


def test_only_the_gpu_namespace_is_privileged_and_says_why(lab):
    metadata = lab.one(NAMESPACE, naming.gpu_namespace(lab.spec))["metadata"]
    assert metadata["labels"][labels.PSA_ENFORCE] == "privileged"
    assert metadata["labels"][labels.PSA_AUDIT] == metadata["labels"][labels.PSA_WARN] == "restricted"
    assert "GPU operator" in metadata["annotations"][labels.PURPOSE]
    privileged = [
        ns["metadata"]["name"] for ns in lab.of_type(NAMESPACE) if ns["metadata"]["labels"][labels.PSA_ENFORCE] != "restricted"
    ]
    assert privileged == [naming.gpu_namespace(lab.spec)]


def test_each_namespace_has_a_quota_and_a_limit_range(lab):
    for name in naming.platform_namespaces(lab.spec):
        hard = lab.one(QUOTA, "platform-quota", name)["spec"]["hard"]
        assert {"pods", "requests.cpu", "requests.memory", "services.loadbalancers", "services.nodeports"} <= hard.keys()
        # Only the lab's ingress controller may hold a load balancer, and then exactly one (its TLS port's node port).
        expected = "1" if name == naming.ingress_namespace(lab.spec) else "0"
        assert hard["services.loadbalancers"] == hard["services.nodeports"] == expected
        (limit,) = lab.one(LIMITS, "platform-defaults", name)["spec"]["limits"]
        assert limit["type"] == "Container" and limit["defaultRequest"] == quota.DEFAULT_REQUEST


def test_quotas_are_what_the_namespace_runs(onprem):
    spec = onprem.spec
    hard = onprem.one(QUOTA, "platform-quota", naming.mlflow_namespace(spec))["spec"]["hard"]
    # MLflow (1 replica, recreated on update: no surge pod), PostgreSQL and its backup job.
    assert hard["pods"] == "3"
    assert hard["requests.cpu"] == hard["limits.cpu"] == "1750m"
    assert hard["requests.memory"] == hard["limits.memory"] == "3584Mi"
    assert hard["persistentvolumeclaims"] == "3"
    assert hard["requests.storage"] == "540Gi"  # 500Gi artifacts, 20Gi database, 20Gi backups


def test_no_gpu_requests_outside_the_gpu_namespace(lab):
    keys = {gpu_sharing.quota_key(pool) for pool in lab.spec.gpu_pools}
    for name in (naming.mlflow_namespace(lab.spec), naming.vector_db_namespace(lab.spec)):
        hard = lab.one(QUOTA, "platform-quota", name)["spec"]["hard"]
        assert {key: hard[key] for key in keys} == dict.fromkeys(keys, "0")
    gpu_hard = lab.one(QUOTA, "platform-quota", naming.gpu_namespace(lab.spec))["spec"]["hard"]
    assert not keys & gpu_hard.keys(), "the operator's validator pods request a GPU"


def test_gpu_namespace_caps_requests_not_limits(lab):
    name = naming.gpu_namespace(lab.spec)
    hard = lab.one(QUOTA, "platform-quota", name)["spec"]["hard"]
    assert "limits.memory" not in hard and "limits.cpu" not in hard
    assert hard["pods"] == str(gpu.footprint(lab.spec).pods)
    (limit,) = lab.one(LIMITS, "platform-defaults", name)["spec"]["limits"]
    assert "default" not in limit


def test_aws_mlflow_namespace_holds_no_volumes(aws):
    hard = aws.one(QUOTA, "platform-quota", naming.mlflow_namespace(aws.spec))["spec"]["hard"]
    assert hard["persistentvolumeclaims"] == "0" and hard["requests.storage"] == "0"
    # Two replicas plus the rolling update's surge pod.
    assert hard["pods"] == "3"


def test_footprints_cover_every_platform_namespace(lab):
    assert sorted(footprints(lab.spec, lab.spec.target == "aws")) == sorted(naming.platform_namespaces(lab.spec))
    assert sorted(namespaces.namespace_components(lab.spec)) == sorted(naming.platform_namespaces(lab.spec))


def test_quantity_formatting():
    assert quota.format_bytes(3 * 2**30) == "3Gi"
    assert quota.format_bytes(1536 * 2**20) == "1536Mi"
    assert quota.format_bytes(0) == "0"
    assert quota.format_millicores(2000) == "2" and quota.format_millicores(1500) == "1500m"
    total = quota.Footprint(pods=1, millicores=500) + quota.Footprint(pods=2, caps_limits=False)
    assert total == quota.Footprint(pods=3, millicores=500, caps_limits=False)
