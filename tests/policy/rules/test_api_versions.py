"""Objects of removed API versions and OpenShift DeploymentConfigs are checked as their current kinds."""

from __future__ import annotations

import pytest
import yaml

from ailab.policy.engine import evaluate
from ailab.policy.loaders import records_from_manifest_text, records_from_state
from ailab.policy.model import Severity

_POD_TEMPLATE = {
    "metadata": {"labels": {"app": "agent"}},
    "spec": {
        "hostNetwork": True,
        "hostPID": True,
        "volumes": [{"name": "proc", "hostPath": {"path": "/proc"}}],
        "containers": [
            {"name": "agent", "image": "registry.k8s.io/agent:1.0", "ports": [{"containerPort": 9100, "hostPort": 9100}]}
        ],
    },
}


def _workload(api_version: str, kind: str) -> str:
    """A node agent with host network, host PID, /proc from the host and a host port."""
    spec: dict[str, object] = {"template": _POD_TEMPLATE}
    if kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": spec}}
    metadata = {"name": "agent", "namespace": "ailab-monitoring"}
    return yaml.safe_dump({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec})


def _failed_rules(text: str) -> set[str]:
    """Every rule that failed, but the one on the API version itself."""
    report = evaluate(records_from_manifest_text(text, "old.yaml"))
    return {finding.rule.id for finding in report.failed()} - {"AILAB-K8S-013"}


@pytest.mark.parametrize(
    ("old", "kind", "current"),
    [
        ("extensions/v1beta1", "DaemonSet", "apps/v1"),
        ("apps/v1beta2", "DaemonSet", "apps/v1"),
        ("extensions/v1beta1", "Deployment", "apps/v1"),
        ("apps/v1beta1", "Deployment", "apps/v1"),
        ("apps/v1beta2", "Deployment", "apps/v1"),
        ("extensions/v1beta1", "ReplicaSet", "apps/v1"),
        ("apps/v1beta2", "ReplicaSet", "apps/v1"),
        ("apps/v1beta1", "StatefulSet", "apps/v1"),
        ("apps/v1beta2", "StatefulSet", "apps/v1"),
        ("batch/v1beta1", "CronJob", "batch/v1"),
    ],
)
def test_an_old_api_version_fails_as_the_current_kind_does(old: str, kind: str, current: str) -> None:
    expected = _failed_rules(_workload(current, kind))
    # host network, host PID, hostPath and host port: the pod-security rules that must fire
    assert {"AILAB-K8S-007", "AILAB-K8S-008", "AILAB-K8S-009"} <= expected, expected
    assert _failed_rules(_workload(old, kind)) == expected
    report = evaluate(records_from_manifest_text(_workload(old, kind), "old.yaml"))
    assert report.blocking(Severity.LOW)
    (deprecated,) = [finding for finding in report.failed() if finding.rule.id == "AILAB-K8S-013"]
    assert old in deprecated.message and current in deprecated.message
    assert not any(
        f.rule.id == "AILAB-K8S-013" for f in evaluate(records_from_manifest_text(_workload(current, kind), "c")).findings
    )


def test_a_deployment_config_is_checked_as_a_workload() -> None:
    text = _workload("apps.openshift.io/v1", "DeploymentConfig")
    found = _failed_rules(text)
    assert found == _failed_rules(_workload("apps/v1", "Deployment"))
    report = evaluate(records_from_manifest_text(text, "dc.yaml"))
    assert any(f.rule.id == "AILAB-K8S-013" and "deprecated" in f.message for f in report.failed())


def test_a_state_export_of_an_old_type_is_checked_as_the_current_kind() -> None:
    (record,) = records_from_state(
        {
            "deployment": {
                "resources": [
                    {
                        "type": "kubernetes:extensions/v1beta1:DaemonSet",
                        "urn": "urn:pulumi:s::p::kubernetes:extensions/v1beta1:DaemonSet::agent",
                        "custom": True,
                        "inputs": {"apiVersion": "extensions/v1beta1", "kind": "DaemonSet"},
                    }
                ]
            }
        },
        "state.json",
    )
    assert record.type == "kubernetes:apps/v1:DaemonSet"
    assert record.urn.endswith("kubernetes:extensions/v1beta1:DaemonSet::agent")
