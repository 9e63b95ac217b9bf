"""Every type token a rule names exists in the installed Pulumi providers (globs must match some)."""

from __future__ import annotations

import importlib.util
import re
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import pytest

from ailab.policy.model import all_rules

_K8S_GROUP_MODULES = {
    "core": "core",
    "apps": "apps",
    "batch": "batch",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "helm.sh": "helm",
    "node.k8s.io": "node",
    "scheduling.k8s.io": "scheduling",
    "discovery.k8s.io": "discovery",
}
# Custom resources of other distributions that rules read (pulumi-kubernetes has no class for them).
_CUSTOM_RESOURCES = {"kubernetes:apps.openshift.io/v1:DeploymentConfig"}
_K8S_TOKEN = re.compile(r"^kubernetes:([a-z0-9.]+)/(v[0-9a-z]+):([A-Za-z]+)$")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    return Path(spec.origin).parent


@cache
def aws_types() -> frozenset[str]:
    """The resource type tokens of the installed pulumi-aws (read from the sources, not imported: that takes seconds)."""
    token = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
    found = set()
    for path in _package_dir("pulumi_aws").rglob("*.py"):
        match = token.search(path.read_text())
        if match:
            found.add(match.group(1))
    return frozenset(found)


def _kubernetes_type_exists(token: str) -> bool:
    if token in _CUSTOM_RESOURCES:
        return True
    match = _K8S_TOKEN.match(token)
    if match is None:
        return False
    group, version, kind = match.groups()
    source = _package_dir("pulumi_kubernetes") / _K8S_GROUP_MODULES.get(group, group) / version / f"{kind}.py"
    return source.is_file() and f'"{token}"' in source.read_text()


@pytest.mark.parametrize("rule_id", sorted(all_rules()))
def test_rule_type_tokens_exist(rule_id: str) -> None:
    for token in all_rules()[rule_id].types:
        if any(char in token for char in "*?["):
            assert token.startswith("aws:") and any(fnmatchcase(t, token) for t in aws_types()), f"{token} matches nothing"
        elif token.startswith("aws:"):
            assert token in aws_types(), f"unknown AWS type {token}"
        elif token.startswith("kubernetes:"):
            assert _kubernetes_type_exists(token), f"unknown Kubernetes type {token}"
        elif token.startswith("pulumi-python:dynamic/"):
            assert token in _ailab_dynamic_types(), f"no dynamic resource of ailab registers {token}"
        else:
            # The SDK's own types: the providers, and a StackReference (pulumi/stack_reference.py).
            assert token in ("pulumi:providers:aws", "pulumi:providers:kubernetes", "pulumi:pulumi:StackReference"), (
                f"unexpected token {token}"
            )


def _ailab_dynamic_types() -> set[str]:
    """The type tokens of ailab's own dynamic resources (``pulumi-python:dynamic/<module>:<name>``)."""
    from ailab.services.mlflow import AuditExperiment
    from ailab.services.qdrant import AuditCollection

    return {f"pulumi-python:dynamic/ailab:{resource.__name__}" for resource in (AuditExperiment, AuditCollection)}


def test_the_scan_finds_the_provider_types() -> None:
    assert {"aws:s3/bucket:Bucket", "aws:eks/cluster:Cluster", "aws:iam/role:Role"} <= aws_types()
    assert len(aws_types()) > 1000
