"""A generated, realistic Kubernetes corpus for the policy benchmarks: teams' namespaces of an AI lab.

Each namespace holds what a team or sandbox deploys (about 20 objects): the namespace, quota
and limit range, network policies, service account, role and binding, config maps, a secret,
deployments and services, sometimes an ingress, a stateful set with its claim, a cron job
and a bare pod; a few cluster-wide roles and bindings besides. Most objects are compliant;
a seeded share carries the mistakes reviewers find (privileged or root containers, ``:latest``,
host namespaces and paths, no limits, NodePorts, public load balancers, ingress without TLS,
wildcard RBAC, cluster-admin bindings), and a few subtler cases where tools' semantics differ
(dropping NET_RAW but not ALL, ``runAsUser: 0`` under a non-root pod, seccomp set per container,
a privileged init container, images by digest). Same seed, same corpus.

    .venv/bin/python benchmarks/policy_corpus.py 10000 benchmarks/out/policy/k8s-10000
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import yaml

GOOD_IMAGES = (
    "ghcr.io/mlflow/mlflow:v2.18.0",
    "docker.io/qdrant/qdrant:v1.12.4",
    "quay.io/jupyter/scipy-notebook:2025-03-14",
    "nvcr.io/nvidia/pytorch:24.10-py3",
    "registry.k8s.io/pause:3.10",
    "docker.io/library/python:3.12.7-slim",
)
BAD_IMAGES = ("docker.io/library/python:latest", "nginx", "docker.io/someone/tool:1.0", "ghcr.io/unknown/agent:latest")


class Corpus:
    def __init__(self, seed: int = 1725) -> None:
        self.random = random.Random(seed)

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def namespace_objects(self, index: int) -> list[dict[str, Any]]:
        ns = f"team-{index:04d}"
        owner = {"owner": f"team{index % 40}", "data-classification": self.random.choice(["internal", "confidential"])}
        objects = [self._namespace(ns, owner)]
        if self.chance(0.9):
            objects.append(
                _obj(
                    "v1",
                    "ResourceQuota",
                    "quota",
                    ns,
                    spec={
                        "hard": {
                            "requests.cpu": "16",
                            "requests.memory": "64Gi",
                            "limits.cpu": "32",
                            "limits.memory": "128Gi",
                            "requests.nvidia.com/gpu": "2",
                            "pods": "50",
                        }
                    },
                )
            )
        if self.chance(0.8):
            objects.append(
                _obj(
                    "v1",
                    "LimitRange",
                    "limits",
                    ns,
                    spec={
                        "limits": [
                            {
                                "type": "Container",
                                "default": {"cpu": "500m", "memory": "512Mi"},
                                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                            }
                        ]
                    },
                )
            )
        if self.chance(0.85):
            objects.append(
                _obj(
                    "networking.k8s.io/v1",
                    "NetworkPolicy",
                    "default-deny",
                    ns,
                    spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
                )
            )
            objects.append(
                _obj(
                    "networking.k8s.io/v1",
                    "NetworkPolicy",
                    "allow-dns",
                    ns,
                    spec={
                        "podSelector": {},
                        "policyTypes": ["Egress"],
                        "egress": [
                            {
                                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                            }
                        ],
                    },
                )
            )
        objects.append(_obj("v1", "ServiceAccount", "app", ns, extra={"automountServiceAccountToken": False}))
        wildcard = self.chance(0.05)
        rules = (
            [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
            if wildcard
            else [{"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list", "watch"]}]
        )
        objects.append(_obj("rbac.authorization.k8s.io/v1", "Role", "app-reader", ns, extra={"rules": rules}))
        objects.append(
            _obj(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                "app-reader",
                ns,
                extra={
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole" if self.chance(0.03) else "Role",
                        "name": "cluster-admin" if self.chance(0.03) else "app-reader",
                    },
                    "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}],
                },
            )
        )
        for name in ("settings", "features"):
            objects.append(_obj("v1", "ConfigMap", name, ns, extra={"data": {"LOG_LEVEL": "info", "FEATURE_X": "on"}}))
        objects.append(
            _obj("v1", "Secret", "credentials", ns, extra={"type": "Opaque", "stringData": {"token": "not-a-real-token"}})
        )
        for name in ("api", "worker"):
            objects.append(_obj("apps/v1", "Deployment", name, ns, labels=owner, spec=self._workload_spec(name, replicas=2)))
            service_type = "ClusterIP"
            annotations: dict[str, str] = {}
            if self.chance(0.05):
                service_type = "NodePort"
            elif self.chance(0.05):
                service_type = "LoadBalancer"
                if self.chance(0.5):
                    annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] = "true"
            objects.append(
                _obj(
                    "v1",
                    "Service",
                    name,
                    ns,
                    annotations=annotations,
                    spec={"type": service_type, "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
                )
            )
        if self.chance(0.5):
            tls = [] if self.chance(0.1) else [{"hosts": [f"{ns}.lab.internal"], "secretName": "tls"}]
            rule = {
                "host": f"{ns}.lab.internal",
                "http": {
                    "paths": [
                        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 80}}}}
                    ]
                },
            }
            objects.append(
                _obj(
                    "networking.k8s.io/v1",
                    "Ingress",
                    "api",
                    ns,
                    spec={"ingressClassName": "traefik", "tls": tls, "rules": [rule]},
                )
            )
        if self.chance(0.3):
            spec = self._workload_spec("store", replicas=1)
            spec["serviceName"] = "store"
            spec["volumeClaimTemplates"] = [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}}},
                }
            ]
            objects.append(_obj("apps/v1", "StatefulSet", "store", ns, labels=owner, spec=spec))
            objects.append(
                _obj(
                    "v1",
                    "PersistentVolumeClaim",
                    "scratch",
                    ns,
                    spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}},
                )
            )
        if self.chance(0.3):
            job = {"template": self._workload_spec("nightly", replicas=None)["template"]}
            job["template"]["spec"]["restartPolicy"] = "OnFailure"
            objects.append(
                _obj(
                    "batch/v1",
                    "CronJob",
                    "nightly",
                    ns,
                    labels=owner,
                    spec={"schedule": "0 2 * * *", "jobTemplate": {"spec": job}},
                )
            )
        if self.chance(0.3):
            pod = self._workload_spec("debug", replicas=None)["template"]
            objects.append(_obj("v1", "Pod", "debug", ns, labels=owner, spec=pod["spec"]))
        return objects

    def cluster_objects(self, count: int) -> list[dict[str, Any]]:
        objects = []
        for index in range(count):
            wildcard = self.chance(0.1)
            rules = (
                [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
                if wildcard
                else [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]
            )
            objects.append(_obj("rbac.authorization.k8s.io/v1", "ClusterRole", f"reader-{index}", None, extra={"rules": rules}))
            admin = self.chance(0.1)
            objects.append(
                _obj(
                    "rbac.authorization.k8s.io/v1",
                    "ClusterRoleBinding",
                    f"reader-{index}",
                    None,
                    extra={
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": "cluster-admin" if admin else f"reader-{index}",
                        },
                        "subjects": [
                            {"kind": "Group", "name": f"oidc:lab-reviewers-{index}", "apiGroup": "rbac.authorization.k8s.io"}
                        ],
                    },
                )
            )
        return objects

    def _namespace(self, name: str, owner: dict[str, str]) -> dict[str, Any]:
        labels = dict(owner)
        if self.chance(0.9):
            labels["pod-security.kubernetes.io/enforce"] = "restricted"
        return _obj("v1", "Namespace", name, None, labels=labels)

    def _workload_spec(self, name: str, replicas: int | None) -> dict[str, Any]:
        container: dict[str, Any] = {
            "name": "main",
            "image": self.random.choice(BAD_IMAGES) if self.chance(0.07) else self.random.choice(GOOD_IMAGES),
            "ports": [{"containerPort": 8080}],
            "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "securityContext": {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        security = container["securityContext"]
        if self.chance(0.05):
            del container["resources"]
        if self.chance(0.03):
            security["privileged"] = True
        if self.chance(0.05):
            security["allowPrivilegeEscalation"] = True
        if self.chance(0.05):
            del security["runAsNonRoot"]
        if self.chance(0.08):
            security["readOnlyRootFilesystem"] = False
        if self.chance(0.05):
            del security["capabilities"]
        if self.chance(0.02):
            container["ports"][0]["hostPort"] = 8080
        # Subtler cases, where tools' semantics differ.
        if self.chance(0.02):
            security["capabilities"] = {"drop": ["NET_RAW"]}
        if self.chance(0.02):
            security["runAsUser"] = 0
        if self.chance(0.02):
            container["image"] = "docker.io/library/python@sha256:" + "ab" * 32
        pod_spec: dict[str, Any] = {
            "serviceAccountName": "app",
            "automountServiceAccountToken": not self.chance(0.9),
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container],
        }
        if self.chance(0.05):
            del pod_spec["securityContext"]["seccompProfile"]
        elif self.chance(0.02):
            del pod_spec["securityContext"]["seccompProfile"]
            security["seccompProfile"] = {"type": "RuntimeDefault"}
        if self.chance(0.02):
            pod_spec["initContainers"] = [
                {
                    "name": "setup",
                    "image": GOOD_IMAGES[-1],
                    "command": ["sh", "-c", "chown -R 10001 /data"],
                    "securityContext": {"privileged": True},
                }
            ]
        if self.chance(0.02):
            pod_spec["hostNetwork"] = True
        if self.chance(0.02):
            pod_spec["volumes"] = [{"name": "host", "hostPath": {"path": "/var/run"}}]
            container["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
        template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
        spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": template}
        if replicas is not None:
            spec["replicas"] = replicas
        return spec


def _obj(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    spec: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = annotations
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    if spec is not None:
        obj["spec"] = spec
    obj.update(extra or {})
    return obj


def generate(count: int, seed: int = 1725) -> list[list[dict[str, Any]]]:
    """About ``count`` objects (exactly ``count``: the last namespace is cut), grouped per file: one per namespace, one cluster-wide."""
    corpus = Corpus(seed)
    files: list[list[dict[str, Any]]] = [corpus.cluster_objects(max(1, count // 500))]
    total = len(files[0])
    index = 0
    while total < count:
        objects = corpus.namespace_objects(index)[: count - total]
        files.append(objects)
        total += len(objects)
        index += 1
    return files


def write(count: int, directory: Path, seed: int = 1725) -> tuple[Path, Path]:
    """The corpus as a directory of multi-document YAML files and as one ``kind: List`` JSON file beside it."""
    files = generate(count, seed)
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    for position, objects in enumerate(files):
        name = "cluster.yaml" if position == 0 else f"{objects[0]['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump_all(objects, sort_keys=False))
    listing = directory.with_suffix(".json")
    listing.write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": [o for objects in files for o in objects]}, indent=1)
    )
    return directory, listing


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"benchmarks/out/policy/k8s-{size}")
    print(*write(size, target))
