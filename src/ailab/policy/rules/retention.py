"""Retention: sandboxes expire within their profile's maximum, artifacts have lifecycle rules,
and databases keep a week of backups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.linking import bucket_linker
from ailab.policy.rules.helpers.namespaces import looks_like_sandbox
from ailab.policy.rules.helpers.tokens import NAMESPACE, RDS_CLUSTER, RDS_INSTANCE, S3_BUCKETS, S3_LIFECYCLE_CONFIGS
from ailab.policy.rules.helpers.values import annotation_path, as_bool, elements, ev, is_unknown, mapping
from ailab.spec import labels as keys

_DELETION = [c.EUDPR_STORAGE_LIMITATION, c.GDPR_STORAGE_LIMITATION, c.AI_ACT_DELETION, c.ISO_DELETION]


def _timestamp(value: Any) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset; naive ones are taken as UTC), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@resource_rule(
    id="AILAB-GOV-010",
    title="Sandboxes expire no later than their profile allows",
    severity="high",
    rationale=(
        "The reaper deletes a sandbox, and the evaluation data in it, at its expires-at; a missing, unreadable or "
        "over-long expiry keeps data beyond the audit's need."
    ),
    remediation=(
        f"Annotate the sandbox namespace with {keys.EXPIRES_AT} and {keys.MAX_EXPIRES_AT} (ISO 8601, UTC); "
        "extend a sandbox only up to its profile's max_ttl."
    ),
    types=[NAMESPACE],
    controls=_DELETION,
)
def sandbox_expiry(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if not looks_like_sandbox(record):
        return
    annotations = record.annotations
    expires_raw = annotations.get(keys.EXPIRES_AT, MISSING)
    maximum_raw = annotations.get(keys.MAX_EXPIRES_AT, MISSING)
    if is_unknown(expires_raw) or is_unknown(maximum_raw):
        return
    expires, maximum = _timestamp(expires_raw), _timestamp(maximum_raw)
    for key, raw, parsed in ((keys.EXPIRES_AT, expires_raw, expires), (keys.MAX_EXPIRES_AT, maximum_raw, maximum)):
        if parsed is None:
            problem = "has no" if raw is MISSING else "has an unreadable"
            yield Violation(f"Sandbox namespace {record.name} {problem} {key} annotation", (ev(annotation_path(key), raw),))
    if expires is not None and maximum is not None and expires > maximum:
        yield Violation(
            f"Sandbox namespace {record.name} expires at {expires_raw}, after the profile's limit {maximum_raw}",
            (ev(annotation_path(keys.EXPIRES_AT), expires_raw), ev(annotation_path(keys.MAX_EXPIRES_AT), maximum_raw)),
        )


def _deletes(rule: Any) -> bool | None:
    """An enabled lifecycle rule that expires current or noncurrent object versions; None when hidden parts may
    make it one."""
    rule = mapping(rule)
    if is_unknown(rule):
        return None
    if not any(key in rule for key in ("expiration", "noncurrentVersionExpiration")):
        return False
    status, enabled = rule.get("status"), rule.get("enabled")
    if status == "Enabled" or as_bool(enabled) is True:
        return True
    return None if is_unknown(status) or is_unknown(enabled) else False


@stack_rule(
    id="AILAB-AWS-060",
    title="S3 buckets have lifecycle rules that delete objects",
    severity="medium",
    rationale=(
        "Artifacts and their old versions accumulate forever unless a lifecycle rule expires them; storage "
        "limitation needs the deletion to happen without someone remembering to do it."
    ),
    remediation=(
        "Add an aws.s3.BucketLifecycleConfiguration with an Enabled rule that expires noncurrent versions "
        "(noncurrent_version_expiration) and, where the retention period is fixed, current objects (expiration)."
    ),
    types=[*S3_BUCKETS, *S3_LIFECYCLE_CONFIGS],
    controls=_DELETION,
)
def s3_lifecycle(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    configs = bucket_linker(records).covered(records.of_type(*S3_LIFECYCLE_CONFIGS), "bucket")
    for bucket in records.of_type(*S3_BUCKETS):
        rule_sets = [(config, config.properties.get("rules", MISSING), "rules") for config in configs.get(bucket.urn, ())]
        if "lifecycleRules" in bucket.properties:
            rule_sets.append((bucket, bucket.properties["lifecycleRules"], "lifecycleRules"))
        if not rule_sets:
            if configs.lacks(bucket.urn):  # else a configuration whose bucket is hidden may be this bucket's
                yield Violation(
                    f"Bucket {bucket.name} has no lifecycle configuration", (ev("lifecycleConfiguration", MISSING),), bucket
                )
            continue
        verdicts = [_deletes(rule) for _, rules, _ in rule_sets for rule in elements(rules)]
        if True not in verdicts and None not in verdicts:  # None: a hidden rule may be the one that deletes
            owner, rules, path = rule_sets[0]
            yield Violation(f"No enabled lifecycle rule of bucket {bucket.name} expires objects", (ev(path, rules),), owner)


MIN_BACKUP_DAYS = 7


@resource_rule(
    id="AILAB-AWS-061",
    title="RDS keeps at least seven days of backups",
    severity="medium",
    rationale=(
        "Point-in-time recovery is limited to the backup retention period; a week covers a corruption or a mistaken "
        "deletion noticed after a weekend, and is the floor of lab.mlflow.database.backup_retention_days."
    ),
    remediation=f"Set backup_retention_period to at least {MIN_BACKUP_DAYS} (and at most what the retention policy allows).",
    types=[RDS_INSTANCE, RDS_CLUSTER],
    controls=[c.EUDPR_RESTORE, c.GDPR_RESTORE, c.ISO_BACKUP],
)
def rds_backup_retention(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.properties.get("backupRetentionPeriod", MISSING)
    if is_unknown(value):
        return
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if days < MIN_BACKUP_DAYS:
        yield Violation(
            f"{record.name} keeps backups for {value if value is not MISSING else 'the default 1'} day(s)",
            (ev("backupRetentionPeriod", value),),
        )
