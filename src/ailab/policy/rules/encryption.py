"""Encryption at rest (S3 SSE-KMS, RDS, EBS, EKS secrets, KMS key rotation) and in transit
(TLS-only bucket policies, RDS parameter groups that force TLS)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.documents import policy_statements
from ailab.policy.rules.helpers.linking import Linker, bucket_linker
from ailab.policy.rules.helpers.tokens import (
    EBS_ENCRYPTION_BY_DEFAULT,
    EBS_VOLUME,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    KMS_KEY,
    RDS_CLUSTER,
    RDS_CLUSTER_PARAMETER_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    S3_BUCKET_POLICY,
    S3_BUCKETS,
    S3_ENCRYPTION_CONFIGS,
)
from ailab.policy.rules.helpers.values import as_bool, as_list, elements, ev, hides, is_unknown, known_and_not, mapping, strings

_AT_REST = [c.EUDPR_ENCRYPTION, c.GDPR_ENCRYPTION, c.AI_ACT_CONFIDENTIALITY, c.ISO_CRYPTOGRAPHY]
_IN_TRANSIT = [c.EUDPR_ENCRYPTION, c.GDPR_ENCRYPTION, c.AI_ACT_CONFIDENTIALITY, c.ISO_CRYPTOGRAPHY, c.ISO_NETWORK_SERVICES]
_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _sse_algorithms(config: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """``(path, sseAlgorithm)`` of each rule of a server-side encryption configuration.

    The standalone resource has ``rules: [...]``; the deprecated inline bucket argument has ``rule: {...}``.
    A hidden configuration or list of rules gives a hidden algorithm.
    """
    items = list(enumerate(elements(config.get("rules"))))
    rule = config.get("rule")
    if not items and (isinstance(rule, Mapping) or is_unknown(rule)):
        return [(f"{prefix}rule.applyServerSideEncryptionByDefault.sseAlgorithm", _algorithm(rule))]
    return [(f"{prefix}rules[{i}].applyServerSideEncryptionByDefault.sseAlgorithm", _algorithm(rule)) for i, rule in items]


def _algorithm(rule: Any) -> Any:
    return mapping(mapping(rule).get("applyServerSideEncryptionByDefault")).get("sseAlgorithm", MISSING)


@stack_rule(
    id="AILAB-AWS-010",
    title="S3 buckets are encrypted with KMS keys (SSE-KMS)",
    severity="high",
    rationale=(
        "MLflow artifacts (models, datasets, evaluation outputs) sit in S3; SSE-KMS puts every read behind a key "
        "policy the lab controls and records each use in CloudTrail, which SSE-S3 does not."
    ),
    remediation=(
        "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with "
        "apply_server_side_encryption_by_default.sse_algorithm='aws:kms' and the lab's KMS key (bucket_key_enabled=True)."
    ),
    types=[*S3_BUCKETS, *S3_ENCRYPTION_CONFIGS],
    controls=_AT_REST,
)
def s3_sse_kms(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    buckets = records.of_type(*S3_BUCKETS)
    configs = bucket_linker(records).covered(records.of_type(*S3_ENCRYPTION_CONFIGS), "bucket")
    for bucket in buckets:
        found = [(config, _sse_algorithms(config.properties, "")) for config in configs.get(bucket.urn, ())]
        inline = bucket.properties.get("serverSideEncryptionConfiguration")
        if isinstance(inline, Mapping) or is_unknown(inline):
            found.append((bucket, _sse_algorithms(mapping(inline), "serverSideEncryptionConfiguration.")))
        if not found and configs.lacks(bucket.urn):
            yield Violation(
                f"Bucket {bucket.name} has no server-side encryption configuration (S3 would fall back to SSE-S3)",
                (ev("serverSideEncryptionConfiguration", MISSING),),
                bucket,
            )
        for owner, algorithms in found:
            if any(is_unknown(value) for _, value in algorithms):
                continue
            if not any(value in _KMS_ALGORITHMS for _, value in algorithms):
                evidence = tuple(ev(path, value) for path, value in algorithms) or (ev("rules", MISSING),)
                yield Violation(f"Bucket {bucket.name} is not encrypted with a KMS key", evidence, owner)


@resource_rule(
    id="AILAB-AWS-011",
    title="RDS storage is encrypted",
    severity="high",
    rationale="MLflow's database holds who ran which evaluation on which system; its storage, snapshots and replicas must be encrypted.",
    remediation="Set storage_encrypted=True (and kms_key_id to the lab's key) on aws.rds.Instance / aws.rds.Cluster; it cannot be changed after creation.",
    types=[RDS_INSTANCE, RDS_CLUSTER],
    controls=_AT_REST,
)
def rds_storage_encrypted(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.properties.get("storageEncrypted", MISSING)
    if known_and_not(value, True):
        yield Violation(f"{record.name}: storage is not encrypted", (ev("storageEncrypted", value),))


def _unencrypted_block_devices(record: Record) -> Iterator[tuple[str, Any]]:
    """``(path, encrypted)`` of every EBS device of an instance, launch template or volume that is not encrypted."""
    props = record.properties
    if record.type == EBS_VOLUME:
        candidates = [("encrypted", props.get("encrypted", MISSING))]
    elif record.type == EC2_LAUNCH_TEMPLATE:
        mappings = props.get("blockDeviceMappings")
        if is_unknown(mappings):
            return
        if not isinstance(mappings, list) or not mappings:
            # Without mappings the AMI's own (unencrypted) root snapshot defines the node's disk.
            yield "blockDeviceMappings", MISSING
            return
        candidates = [
            (f"blockDeviceMappings[{i}].ebs.encrypted", mapping(m).get("ebs", {}).get("encrypted", MISSING))
            for i, m in enumerate(mappings)
            if isinstance(mapping(m).get("ebs"), Mapping)
        ]
    else:  # EC2 instance
        root = props.get("rootBlockDevice")
        candidates = [("rootBlockDevice.encrypted", mapping(root).get("encrypted", MISSING))]
        devices = props.get("ebsBlockDevices")
        for i, device in enumerate(devices if isinstance(devices, list) else ()):
            candidates.append((f"ebsBlockDevices[{i}].encrypted", mapping(device).get("encrypted", MISSING)))
    for path, value in candidates:
        if known_and_not(value, True):
            yield path, value


@stack_rule(
    id="AILAB-AWS-012",
    title="EBS volumes, launch templates and instances use encrypted disks",
    severity="high",
    rationale=(
        "Node disks hold container images, model weights pulled for evaluation, scratch data and swap; an "
        "unencrypted volume or snapshot exposes them to anyone who can copy it."
    ),
    remediation=(
        "Declare aws.ebs.EncryptionByDefault(enabled=True) for the account and region, or set encrypted "
        '("true" in launch template block_device_mappings[].ebs) with the lab\'s KMS key on every volume; give EKS '
        "node groups a launch template with encrypted block device mappings."
    ),
    types=[EBS_VOLUME, EC2_LAUNCH_TEMPLATE, EC2_INSTANCE, EKS_NODE_GROUP, EBS_ENCRYPTION_BY_DEFAULT],
    controls=_AT_REST,
)
def ebs_encrypted(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    # Account-level encryption by default encrypts every new volume in the region, whatever asks for it.
    if any(as_bool(r.properties.get("enabled", True)) is not False for r in records.of_type(EBS_ENCRYPTION_BY_DEFAULT)):
        return
    for record in records.of_type(EBS_VOLUME, EC2_LAUNCH_TEMPLATE, EC2_INSTANCE):
        for path, value in _unencrypted_block_devices(record):
            yield Violation(f"{record.name}: {path} does not request an encrypted volume", (ev(path, value),), record)
    for group in records.of_type(EKS_NODE_GROUP):
        template = group.properties.get("launchTemplate", MISSING)
        if template is MISSING or template is None:
            yield Violation(
                f"Node group {group.name} uses the default launch template, whose disks are not encrypted",
                (ev("launchTemplate", MISSING),),
                group,
            )


@resource_rule(
    id="AILAB-AWS-013",
    title="EKS encrypts Kubernetes Secrets with a KMS key",
    severity="high",
    rationale=(
        "Kubernetes Secrets hold the MLflow admin password, the Qdrant API key and per-sandbox tokens; envelope "
        "encryption with a lab-owned KMS key protects them in etcd and its backups."
    ),
    remediation="Set encryption_config=aws.eks.ClusterEncryptionConfigArgs(resources=['secrets'], provider=...(key_arn=key.arn)).",
    types=[EKS_CLUSTER],
    controls=[*_AT_REST, c.CIS_EKS_SECRETS_KMS, c.NSA_SECRETS],
)
def eks_secrets_encryption(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    config = record.properties.get("encryptionConfig", MISSING)
    if isinstance(config, list):  # older provider versions: a one-element list
        config = config[0] if config else MISSING
    if is_unknown(config):
        return
    if not isinstance(config, Mapping):
        yield Violation(f"EKS cluster {record.name} does not encrypt Secrets", (ev("encryptionConfig", config),))
        return
    resources = config.get("resources", MISSING)
    if not hides(resources) and "secrets" not in strings(resources):
        yield Violation(f"EKS cluster {record.name} does not encrypt Secrets", (ev("encryptionConfig.resources", resources),))
    key_arn = mapping(config.get("provider")).get("keyArn", MISSING)
    if key_arn in (MISSING, None, ""):
        yield Violation(
            f"EKS cluster {record.name} names no KMS key for Secrets", (ev("encryptionConfig.provider.keyArn", key_arn),)
        )


@resource_rule(
    id="AILAB-AWS-014",
    title="KMS keys rotate automatically",
    severity="medium",
    rationale="Yearly rotation limits how much data one compromised key version protects; the lab's keys guard audit data for years.",
    remediation="Set enable_key_rotation=True on aws.kms.Key (symmetric keys; asymmetric and HMAC keys cannot rotate).",
    types=[KMS_KEY],
    controls=[c.EUDPR_ENCRYPTION, c.GDPR_ENCRYPTION, c.ISO_CRYPTOGRAPHY],
)
def kms_rotation(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    spec = record.properties.get("customerMasterKeySpec", record.properties.get("keySpec", "SYMMETRIC_DEFAULT"))
    if spec != "SYMMETRIC_DEFAULT":  # rotation applies to symmetric encryption keys only (unknown: cannot tell)
        return
    value = record.properties.get("enableKeyRotation", MISSING)
    if known_and_not(value, True):
        yield Violation(f"KMS key {record.name} does not rotate", (ev("enableKeyRotation", value),))


def _all(*verdicts: bool | None) -> bool | None:
    """Three-valued *and*: False if any is False, else None (cannot tell) if any is None, else True."""
    if False in verdicts:
        return False
    return None if None in verdicts else True


def _everyone(principal: Any) -> bool | None:
    """Whether a statement's ``Principal`` is every principal (``*`` or ``{"AWS": "*"}``); None when hidden."""
    if principal == "*":
        return True
    accounts = as_list(mapping(principal).get("AWS"))
    if "*" in accounts:
        return True
    return None if hides(accounts) else False


def _without_tls(condition: Any) -> bool | None:
    """Whether a ``Condition`` holds for requests without TLS (``Bool: {aws:SecureTransport: false}``); None when
    a hidden part may make it so."""
    verdict: bool | None = None if is_unknown(condition) else False
    for operator, conditions in mapping(condition).items():
        if operator.lower() != "bool":
            continue
        if is_unknown(conditions):
            verdict = None
        for key, value in mapping(conditions).items():
            if key.lower() == "aws:securetransport":
                if any(as_bool(v) is False for v in as_list(value)):
                    return True
                if hides(value):
                    verdict = None
    return verdict


def _denies_plain_http(statement: Mapping[str, Any]) -> bool | None:
    """A ``Deny`` for every principal when ``aws:SecureTransport`` is false; None when hidden parts may make it one."""
    effect = statement.get("Effect")
    return _all(
        None if is_unknown(effect) else effect == "Deny",
        _everyone(statement.get("Principal")),
        _without_tls(statement.get("Condition")),
    )


@stack_rule(
    id="AILAB-AWS-020",
    title="S3 buckets refuse plain-HTTP requests",
    severity="high",
    rationale=(
        "S3 answers over HTTP unless the bucket policy forbids it; artifacts and credentials in requests must never "
        "cross the network unencrypted, even inside the VPC."
    ),
    remediation=(
        "Attach an aws.s3.BucketPolicy with a statement Effect=Deny, Principal='*', Action='s3:*', "
        "Resource=[bucket ARN, bucket ARN/*], Condition={'Bool': {'aws:SecureTransport': 'false'}}."
    ),
    types=[*S3_BUCKETS, S3_BUCKET_POLICY],
    controls=[*_IN_TRANSIT, c.NSA_ENCRYPTION],
)
def s3_tls_only(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    policies = bucket_linker(records).covered(records.of_type(S3_BUCKET_POLICY), "bucket")
    for bucket in records.of_type(*S3_BUCKETS):
        documents = [p.properties.get("policy", MISSING) for p in policies.get(bucket.urn, ())]
        if "policy" in bucket.properties:
            documents.append(bucket.properties["policy"])
        if not documents and not policies.lacks(bucket.urn):
            continue  # a bucket policy whose bucket is hidden may be this bucket's
        if any(is_unknown(document) for document in documents):
            continue
        verdicts = [_denies_plain_http(statement) for document in documents for _, statement in policy_statements(document)]
        if True not in verdicts and None not in verdicts:
            owner = policies[bucket.urn][0] if bucket.urn in policies else bucket
            yield Violation(
                f"Bucket {bucket.name} has no policy denying requests without TLS (aws:SecureTransport = false)",
                (ev("policy", owner.properties.get("policy", MISSING)),),
                owner,
            )


# Which parameter makes each engine refuse unencrypted connections, and the values that mean "on".
_TLS_PARAMETER: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("rds.force_ssl", ("1",)),
    "aurora-postgresql": ("rds.force_ssl", ("1",)),
    "sqlserver": ("rds.force_ssl", ("1",)),
    "mysql": ("require_secure_transport", ("1", "on")),
    "mariadb": ("require_secure_transport", ("1", "on")),
    "aurora-mysql": ("require_secure_transport", ("1", "on")),
}


def _engine_family(engine: Any) -> str | None:
    if not isinstance(engine, str) or is_unknown(engine):
        return None
    for family in sorted(_TLS_PARAMETER, key=len, reverse=True):
        if engine == family or engine.startswith(family + "-"):
            return family
    return None


@stack_rule(
    id="AILAB-AWS-021",
    title="RDS databases refuse unencrypted connections",
    severity="high",
    rationale=(
        "Clients fall back to plain connections when TLS fails unless the server refuses them; MLflow's database "
        "traffic carries run metadata and password hashes."
    ),
    remediation=(
        "Give the instance (or Aurora cluster) its own aws.rds.ParameterGroup (ClusterParameterGroup) with "
        "parameters=[{'name': 'rds.force_ssl', 'value': '1'}] (MySQL/MariaDB: require_secure_transport=1)."
    ),
    types=[RDS_INSTANCE, RDS_CLUSTER, RDS_PARAMETER_GROUP, RDS_CLUSTER_PARAMETER_GROUP],
    controls=[*_IN_TRANSIT, c.ISO_CONFIGURATION],
)
def rds_force_tls(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    for owner_type, group_type, ref_key in (
        (RDS_INSTANCE, RDS_PARAMETER_GROUP, "parameterGroupName"),
        (RDS_CLUSTER, RDS_CLUSTER_PARAMETER_GROUP, "dbClusterParameterGroupName"),
    ):
        linker = Linker(records.of_type(group_type), ("name",))
        for database in records.of_type(owner_type):
            family = _engine_family(database.properties.get("engine"))
            if family is None:
                continue
            parameter, on_values = _TLS_PARAMETER[family]
            groups = linker.targets(database, ref_key)
            reference = database.properties.get(ref_key, MISSING)
            if not groups:
                if reference is MISSING or (isinstance(reference, str) and reference.startswith("default.")):
                    yield Violation(
                        f"{database.name} uses the engine's default parameter group, which this stack cannot set {parameter} in",
                        (ev(ref_key, reference),),
                        database,
                    )
                continue  # a named group declared elsewhere, or an unknown reference: nothing to judge
            for group in groups:
                yield from _check_parameter(group, parameter, on_values)


def _check_parameter(group: Record, parameter: str, on_values: tuple[str, ...]) -> Iterator[Violation]:
    unseen = False  # a hidden list, item or name may be the parameter
    for index, item in enumerate(elements(group.properties.get("parameters", MISSING))):
        name = mapping(item).get("name")
        if is_unknown(name):
            unseen = True
        elif name == parameter:
            value = mapping(item).get("value", MISSING)
            if is_unknown(value) or str(value).lower() in on_values:
                return
            yield Violation(
                f"Parameter group {group.name} sets {parameter} = {value}", (ev(f"parameters[{index}].value", value),), group
            )
            return
    if not unseen:
        yield Violation(f"Parameter group {group.name} does not set {parameter}", (ev("parameters", MISSING),), group)
