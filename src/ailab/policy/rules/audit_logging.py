"""Logging: every EKS control-plane log type, and log groups whose retention is bounded and
declared by the stack (so nothing keeps logs, which contain personal data, forever)."""

from __future__ import annotations

from collections.abc import Iterator

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.tokens import EKS_CLUSTER, LOG_GROUP
from ailab.policy.rules.helpers.values import ev, hides, is_unknown, strings

EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@resource_rule(
    id="AILAB-AWS-040",
    title="EKS sends all five control-plane log types to CloudWatch",
    severity="high",
    rationale=(
        "The audit and authenticator logs are the only record of who read or changed what in the cluster; without "
        "them a breach of sandbox data cannot be investigated or notified accurately."
    ),
    remediation="Set enabled_cluster_log_types=['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'] on aws.eks.Cluster.",
    types=[EKS_CLUSTER],
    controls=[c.EUDPR_SECURITY, c.GDPR_SECURITY, c.ISO_LOGGING, c.CIS_EKS_AUDIT_LOGS, c.NSA_LOGGING],
)
def eks_control_plane_logs(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.properties.get("enabledClusterLogTypes", MISSING)
    if hides(value):
        return
    missing = [kind for kind in EKS_LOG_TYPES if kind not in strings(value)]
    if missing:
        yield Violation(f"EKS cluster {record.name} does not log {', '.join(missing)}", (ev("enabledClusterLogTypes", value),))


@resource_rule(
    id="AILAB-AWS-041",
    title="Log groups expire their events",
    severity="medium",
    rationale=(
        "Logs contain user names, IP addresses and request details; a log group without retention (or with 0, "
        "never expire) keeps that personal data indefinitely."
    ),
    remediation="Set retention_in_days on aws.cloudwatch.LogGroup (lab.aws.log_retention_days, 365 by default).",
    types=[LOG_GROUP],
    controls=[c.EUDPR_STORAGE_LIMITATION, c.GDPR_STORAGE_LIMITATION, c.ISO_LOGGING, c.ISO_DELETION],
)
def log_group_retention(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.properties.get("retentionInDays", MISSING)
    if is_unknown(value):
        return
    if value is MISSING or value is None or value in (0, "0"):
        yield Violation(f"Log group {record.name} keeps its events forever", (ev("retentionInDays", value),))


@stack_rule(
    id="AILAB-AWS-042",
    title="The stack declares the EKS control-plane log group",
    severity="medium",
    rationale=(
        "When EKS logging is on and /aws/eks/<cluster>/cluster does not exist, EKS creates it with no retention "
        "and outside the stack's control; declaring it first bounds retention and keeps it encrypted."
    ),
    remediation=(
        "Create aws.cloudwatch.LogGroup(name=f'/aws/eks/{cluster_name}/cluster', retention_in_days=..., "
        "kms_key_id=...) and make the cluster depend on it."
    ),
    types=[EKS_CLUSTER, LOG_GROUP],
    controls=[c.EUDPR_STORAGE_LIMITATION, c.GDPR_STORAGE_LIMITATION, c.ISO_LOGGING],
)
def eks_log_group_declared(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    declared = {name for r in records.of_type(LOG_GROUP) if isinstance(name := r.properties.get("name"), str)}
    if any(is_unknown(name) for name in declared):
        return  # a log group whose name is hidden may be any cluster's
    for cluster in records.of_type(EKS_CLUSTER):
        name = cluster.properties.get("name")
        types = cluster.properties.get("enabledClusterLogTypes")
        if not isinstance(name, str) or is_unknown(name) or not strings(types) or hides(types):
            continue  # auto-named cluster (name known only after deployment), logging off (AILAB-AWS-040) or hidden
        expected = f"/aws/eks/{name}/cluster"
        if expected not in declared:
            yield Violation(
                f"No log group {expected} is declared; EKS would create it without retention",
                (ev("name", name),),
                cluster,
            )
