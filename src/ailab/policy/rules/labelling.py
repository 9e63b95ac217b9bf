"""Labels and tags: an owner and a data classification on every namespace, workload and
data-holding AWS resource, and an audit id on every sandbox namespace."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.documents import json_document
from ailab.policy.rules.helpers.namespaces import looks_like_sandbox
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES
from ailab.policy.rules.helpers.tokens import (
    AWS_PROVIDER,
    EBS_VOLUME,
    EC2_INSTANCE,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KMS_KEY,
    LOG_GROUP,
    NAMESPACE,
    RDS_CLUSTER,
    RDS_INSTANCE,
    S3_BUCKETS,
)
from ailab.policy.rules.helpers.values import ev, is_unknown, label_path, mapping
from ailab.spec import labels as keys
from ailab.spec.constants import CLASSIFICATION_ORDER, SANDBOX_NAMESPACE_PREFIX

_LABELLING = [c.ISO_ASSET_INVENTORY, c.ISO_CLASSIFICATION, c.ISO_LABELLING]


def _missing_or_invalid(found: Mapping[str, Any], owner_key: str, class_key: str, path: Any) -> list[tuple[str, str, Any]]:
    """``(problem, path, value)`` for an absent owner, or an absent or unknown-level classification."""
    problems = []
    owner = found.get(owner_key, MISSING)
    if not is_unknown(owner) and (owner is MISSING or owner == ""):
        problems.append(("no owner", path(owner_key), owner))
    level = found.get(class_key, MISSING)
    if not is_unknown(level) and level not in CLASSIFICATION_ORDER:
        problem = (
            "no data classification"
            if level is MISSING
            else f"data classification {level!r} (not one of {', '.join(CLASSIFICATION_ORDER)})"
        )
        problems.append((problem, path(class_key), level))
    return problems


@resource_rule(
    id="AILAB-GOV-020",
    title="Namespaces and workloads carry an owner and a data classification",
    severity="low",
    rationale=(
        "Reviewers, the reaper and incident responders need to know whom a workload belongs to and how sensitive "
        "its data is; the classification also decides which sandboxes may be created next to it."
    ),
    remediation=(
        f"Set the labels {keys.OWNER} and {keys.DATA_CLASSIFICATION} (one of {', '.join(CLASSIFICATION_ORDER)}) in "
        "metadata.labels (the lab's TagsSpec does this for every resource it creates)."
    ),
    types=[NAMESPACE, *WORKLOAD_TYPES],
    controls=_LABELLING,
)
def owner_and_classification(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    labels = record.get("metadata.labels")
    if is_unknown(labels):
        return
    for problem, path, value in _missing_or_invalid(mapping(labels), keys.OWNER, keys.DATA_CLASSIFICATION, label_path):
        yield Violation(f"{record.name} has {problem}", (ev(path, value),))


@resource_rule(
    id="AILAB-GOV-021",
    title="Sandbox namespaces carry their audit id",
    severity="medium",
    rationale=(
        "The audit id ties a sandbox to its audit file, its MLflow experiment, its Qdrant collection and its entries "
        "in the audit log; quotas, network isolation and expiry checks find sandboxes by it."
    ),
    remediation=f"Label the namespace {keys.AUDIT_ID}: <audit id>, matching its name audit-<audit id>.",
    types=[NAMESPACE],
    controls=_LABELLING,
)
def sandbox_audit_id(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if not looks_like_sandbox(record):
        return
    value = record.labels.get(keys.AUDIT_ID, MISSING)
    name = record.get("metadata.name")
    if is_unknown(value) or is_unknown(name):
        return
    if value is MISSING or value == "":
        yield Violation(f"Sandbox namespace {record.name} has no audit id label", (ev(label_path(keys.AUDIT_ID), value),))
    elif isinstance(name, str) and name.startswith(SANDBOX_NAMESPACE_PREFIX) and name != f"{SANDBOX_NAMESPACE_PREFIX}{value}":
        yield Violation(
            f"Sandbox namespace {name} is labelled with audit id {value}",
            (ev(label_path(keys.AUDIT_ID), value), ev("metadata.name", name)),
        )


_TAGGED_TYPES = (
    *S3_BUCKETS,
    RDS_INSTANCE,
    RDS_CLUSTER,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KMS_KEY,
    LOG_GROUP,
    EBS_VOLUME,
    EC2_INSTANCE,
)


def _tag_keys(provider: Record) -> set[str] | None:
    """Tag keys an AWS provider applies by default (state exports JSON-encode ``defaultTags``); None when hidden."""
    default_tags = provider.properties.get("defaultTags")
    if isinstance(default_tags, str) and not is_unknown(default_tags):
        default_tags = json_document(default_tags)
    tags = mapping(mapping(default_tags).get("tags"))
    return None if is_unknown(tags) else set(tags)


class _DefaultTags:
    """Default tag keys per provider URN (None: hidden); a record without a provider gets what every explicit
    provider applies."""

    def __init__(self, records: RecordSet) -> None:
        self.by_provider = {provider.urn: _tag_keys(provider) for provider in records.of_type(AWS_PROVIDER)}
        known = [tag_keys for tag_keys in self.by_provider.values() if tag_keys is not None]
        self.common: set[str] | None = set.intersection(*known) if known else set()
        if len(known) < len(self.by_provider):
            self.common = None  # one provider's default tags are hidden

    def for_record(self, record: Record) -> set[str] | None:
        if record.provider is None:
            return self.common
        return self.by_provider.get(record.provider, set())  # a default provider not in the stack applies none


@stack_rule(
    id="AILAB-AWS-070",
    title="Data-holding AWS resources are tagged with an owner and a data classification",
    severity="low",
    rationale=(
        "Tags are how AWS-side reviews, cost reports and incident response find who owns a bucket, database or key "
        "and how sensitive its data is."
    ),
    remediation=(
        f"Set the tags {keys.AWS_TAG_OWNER} and {keys.AWS_TAG_DATA_CLASSIFICATION} on the resource, or once in the "
        "aws.Provider's default_tags."
    ),
    types=[*_TAGGED_TYPES, AWS_PROVIDER],
    controls=_LABELLING,
)
def aws_owner_and_classification(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    defaults = _DefaultTags(records)
    wanted = (keys.AWS_TAG_OWNER, keys.AWS_TAG_DATA_CLASSIFICATION)
    for record in records.of_type(*_TAGGED_TYPES):
        default_keys = defaults.for_record(record)
        tags = record.properties.get("tags", MISSING)
        if is_unknown(tags) or default_keys is None:  # hidden default tags may carry what the resource's lack
            continue
        missing = [key for key in wanted if key not in default_keys and key not in mapping(tags)]
        if missing:
            yield Violation(
                f"{record.name} is not tagged with {', '.join(missing)}",
                tuple(ev(f'tags["{key}"]', MISSING) for key in missing),
                record,
            )
