"""Qdrant: API key from a Secret, JWT RBAC, telemetry off, persistence, cluster mode for several replicas."""

from __future__ import annotations

from pydantic import SecretStr

from ailab.infra.k8s import qdrant
from ailab.spec import naming

STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


def test_api_key_from_a_secret_and_jwt_rbac(lab, env):
    variables = env(lab.container("StatefulSet", "qdrant"))
    assert variables["QDRANT__SERVICE__API_KEY"] == {"secretKeyRef": {"name": "qdrant-api-keys", "key": "api-key"}}
    assert variables["QDRANT__SERVICE__JWT_RBAC"] == "true"
    assert variables["QDRANT__TELEMETRY_DISABLED"] == "true"
    assert variables["QDRANT__SERVICE__ENABLE_CORS"] == "false"
    assert "QDRANT__SERVICE__READ_ONLY_API_KEY" not in variables
    assert "QDRANT__CLUSTER__ENABLED" not in variables


def test_image_and_probes(lab):
    container = lab.container("StatefulSet", "qdrant")
    assert container["image"] == f"docker.io/qdrant/qdrant:{lab.spec.vector_db.qdrant_version}"
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert "command" not in container


def test_storage_and_snapshots_persist(lab):
    stateful_set = lab.one(STATEFUL_SET, "qdrant", naming.vector_db_namespace(lab.spec))["spec"]
    (claim,) = stateful_set["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == lab.spec.vector_db.storage_size
    expected_class = lab.spec.onprem.storage_class if lab.spec.onprem else "ailab-encrypted-gp3"
    assert claim["spec"]["storageClassName"] == expected_class
    mounts = {m["mountPath"]: m.get("subPath") for m in stateful_set["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["/qdrant/storage"] == "storage" and mounts["/qdrant/snapshots"] == "snapshots"


def test_services(lab):
    ports = lab.one("kubernetes:core/v1:Service", "qdrant")["spec"]["ports"]
    assert {p["port"] for p in ports} == {naming.QDRANT_HTTP_PORT, naming.QDRANT_GRPC_PORT}
    headless = lab.one("kubernetes:core/v1:Service", qdrant.HEADLESS_SERVICE)["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True


def test_read_only_key_and_cluster_mode(variant, env):
    lab = variant("onprem", vector_db={"replicas": 3, "read_only_api_key": SecretStr("r" * 40)})
    container = lab.container("StatefulSet", "qdrant")
    variables = env(container)
    assert variables["QDRANT__SERVICE__READ_ONLY_API_KEY"]["secretKeyRef"]["key"] == "read-only-api-key"
    assert variables["QDRANT__CLUSTER__ENABLED"] == "true"
    script = container["command"][-1]
    assert "--bootstrap" in script and f"qdrant-0.{qdrant.HEADLESS_SERVICE}.ailab-vectordb.svc.cluster.local:6335" in script
    assert lab.one(STATEFUL_SET, "qdrant")["spec"]["replicas"] == 3
    assert "r" * 40 not in str(lab.plan.to_json())
    peers = lab.network_policies(naming.vector_db_namespace(lab.spec))["qdrant-peers"]
    assert peers["ingress"][0]["ports"] == [{"protocol": "TCP", "port": qdrant.P2P_PORT}]
