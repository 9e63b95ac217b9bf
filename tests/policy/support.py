"""Test-only rules and records: the engine, loaders and reports are tested without the real catalogue.

The rules are built directly (not registered), so the registry, hence ``all_rules()``, stays the catalogue's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ailab.policy.model import (
    Control,
    Evidence,
    Record,
    RecordSet,
    ResourceRule,
    Rule,
    RuleContext,
    Severity,
    StackRule,
    Violation,
)

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def _privileged(record: Record, context: RuleContext) -> Iterator[Violation]:
    containers = record.get("spec.template.spec.containers") or []
    for index, container in enumerate(containers):
        path = f"spec.template.spec.containers[{index}].securityContext.privileged"
        if record.get(path) is True:
            yield Violation(f"container {container.get('name')!r} is privileged", (Evidence(path, True),))


def _latest(record: Record, context: RuleContext) -> Iterator[Violation]:
    for index, container in enumerate(record.get("spec.template.spec.containers") or []):
        image = container.get("image", "")
        if image.endswith(":latest") or ":" not in image:
            yield Violation(f"image {image!r} is not pinned", (Evidence(f"spec.template.spec.containers[{index}].image", image),))


def _quota(records: RecordSet, context: RuleContext) -> Iterator[Violation]:
    quota_namespaces = {record.namespace for record in records.of_type(QUOTA)}
    for namespace in records.of_type(NAMESPACE):
        if namespace.name not in quota_namespaces:
            yield Violation(f"namespace {namespace.name} has no ResourceQuota", (), namespace)


def _crash(record: Record, context: RuleContext) -> Iterator[Violation]:
    raise KeyError("boom")


def make_rule(
    rule_id: str, check, *, severity: str = "high", types=(DEPLOYMENT,), scope: str = "resource", controls=None
) -> Rule:
    kind = StackRule if scope == "stack" else ResourceRule
    return kind(
        id=rule_id,
        title=f"title of {rule_id}",
        severity=Severity(severity),
        rationale=f"why {rule_id}",
        remediation=f"fix {rule_id}",
        types=frozenset(types),
        controls=tuple(controls or (Control("eudpr", "Art. 33", "Security of processing"), Control("cis-k8s", "5.2.1"))),
        check=check,
    )


PRIVILEGED = make_rule("AILAB-TEST-001", _privileged, severity="critical")
LATEST = make_rule("AILAB-TEST-002", _latest, severity="medium", controls=(Control("iso27001", "A.8.31"),))
QUOTA_RULE = make_rule("AILAB-TEST-003", _quota, severity="low", types=(NAMESPACE, QUOTA), scope="stack")
CRASHING = make_rule("AILAB-TEST-004", _crash, severity="low")
TEST_RULES = (PRIVILEGED, LATEST, QUOTA_RULE)


def deployment(
    name: str = "web", *, image: str = "nginx:1.27", privileged: bool = False, namespace: str = "team-a", line: int | None = None
) -> Record:
    properties = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "main", "image": image, "securityContext": {"privileged": privileged}}]}
            }
        },
    }
    return Record(
        type=DEPLOYMENT,
        name=name,
        urn=f"urn:pulumi:dev::lab::{DEPLOYMENT}::{name}",
        properties=properties,
        source="manifests/app.yaml" if line else None,
        line=line,
    )


def namespace(name: str) -> Record:
    return Record(
        type=NAMESPACE, name=name, urn=f"urn:pulumi:dev::lab::{NAMESPACE}::{name}", properties={"metadata": {"name": name}}
    )
