"""EU residency: every AWS provider and regional resource in an EU region, and no ARN or AWS
endpoint that reveals a region outside it.

Allowed regions are ``RuleContext.allowed_regions``: :data:`ailab.spec.regions.EU_REGIONS` unless overridden
(EU member states only: London and Zurich carry an ``eu-`` prefix but are not in the Union).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from ailab.policy.model import MISSING, Record, RuleContext, Violation, resource_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, containers
from ailab.policy.rules.helpers.strings import walk_strings
from ailab.policy.rules.helpers.tokens import AWS_PROVIDER, AWS_TYPES, CONFIG_MAP
from ailab.policy.rules.helpers.values import ev, is_unknown

_CONTROLS = [c.EUDPR_TRANSFERS, c.GDPR_TRANSFERS, c.ISO_CLOUD, c.ISO_PII]


@resource_rule(
    id="AILAB-AWS-001",
    title="AWS providers are pinned to an EU region",
    severity="critical",
    rationale=(
        "Everything a provider creates lands in its region; a provider outside the EU, or one that takes its region "
        "from whoever runs it (AWS_REGION, the CLI profile), can place audit data in a third country."
    ),
    remediation=(
        "Give every aws.Provider an explicit EU region (aws.Provider(..., region='eu-central-1')) or set "
        "`aws:region` in the stack config; use lab.aws.region_override only with a documented transfer basis."
    ),
    types=[AWS_PROVIDER],
    controls=_CONTROLS,
)
def provider_region(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    allowed = ctx.allowed_regions
    region = record.properties.get("region", MISSING)
    if region is MISSING or region in (None, ""):
        yield Violation(
            "The AWS provider names no region: it would deploy wherever AWS_REGION or the caller's profile points",
            (ev("region", region),),
        )
    elif isinstance(region, str) and not is_unknown(region) and region not in allowed:
        yield Violation(f"The AWS provider deploys to {region}, which is not an EU region", (ev("region", region),))
    sts_region = record.properties.get("stsRegion", MISSING)
    if isinstance(sts_region, str) and sts_region and not is_unknown(sts_region) and sts_region not in allowed:
        yield Violation(f"The AWS provider authenticates through STS in {sts_region}", (ev("stsRegion", sts_region),))


@resource_rule(
    id="AILAB-AWS-002",
    title="Regional AWS resources name only EU regions",
    severity="critical",
    rationale=(
        "Since pulumi-aws v7 any regional resource can override its provider's region; one bucket or database "
        "created outside the EU is a transfer of whatever it stores."
    ),
    remediation="Remove the resource's `region` input (inherit the provider's EU region) or set it to an EU region.",
    # Every AWS resource: since v7 the regional ones take a ``region`` input, the global ones have none to judge.
    types=[AWS_TYPES],
    controls=_CONTROLS,
)
def resource_region(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    region = record.properties.get("region")
    if isinstance(region, str) and region and not is_unknown(region) and region not in ctx.allowed_regions:
        yield Violation(f"{record.type.rsplit(':', 1)[-1]} {record.name} is created in {region}", (ev("region", region),))


# A region inside an ARN (arn:partition:service:REGION:account:...) or an AWS hostname
# (bucket.s3.eu-west-1.amazonaws.com, s3-us-west-2.amazonaws.com, x.gr7.us-east-1.eks.amazonaws.com).
_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):[^\s\"',]*")
_HOST = re.compile(r"[A-Za-z0-9.-]*\.amazonaws\.com(?:\.cn)?")
_REGION = re.compile(r"(?<![a-z0-9])((?:af|ap|ca|cn|eu|eusc|il|me|mx|sa|us)(?:-[a-z]+)+-\d{1,2})(?![a-z0-9])")


def _regions_named(text: str) -> Iterator[tuple[str, str]]:
    """``(region, the ARN or hostname naming it)`` for every region a string reveals."""
    if text.startswith("arn:") or "arn:aws" in text:
        for match in _ARN.finditer(text):
            if match.group(1):
                yield match.group(1), match.group(0)
    if "amazonaws.com" in text:
        for host in _HOST.finditer(text):
            for region in _REGION.finditer(host.group(0).lower()):
                yield region.group(1), host.group(0)


def _strings_to_scan(record: Record) -> Iterable[tuple[str, str]]:
    """AWS records: every input. Kubernetes: ConfigMap data and container env values, command and args."""
    if record.type == CONFIG_MAP:
        return walk_strings(record.properties.get("data", {}), "data")
    if record.type in WORKLOAD_TYPES:
        found: list[tuple[str, str]] = []
        for ref in containers(record):
            entries = ref.container.get("env")
            for index, entry in enumerate(entries if isinstance(entries, list) else ()):
                value = entry.get("value") if isinstance(entry, Mapping) else None
                if isinstance(value, str):
                    found.append((f"{ref.path}.env[{index}].value", value))
            for key in ("command", "args"):
                found.extend(walk_strings(ref.container.get(key, []), f"{ref.path}.{key}"))
        return found
    return walk_strings(record.properties)


@resource_rule(
    id="AILAB-AWS-003",
    title="ARNs and AWS endpoints refer only to EU regions",
    severity="high",
    rationale=(
        "A KMS key ARN, a log destination or an S3 endpoint in another region sends data (or the keys that protect "
        "it) out of the EU even when every resource of the stack is in an EU region."
    ),
    remediation=(
        "Point ARNs and endpoint URLs (KMS keys, S3 endpoints such as MLFLOW_S3_ENDPOINT_URL, provider endpoints) "
        "at resources in the lab's EU region."
    ),
    types=[AWS_TYPES, AWS_PROVIDER, CONFIG_MAP, *WORKLOAD_TYPES],
    controls=_CONTROLS,
)
def revealed_regions(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    allowed = ctx.allowed_regions
    for path, text in _strings_to_scan(record):
        if is_unknown(text) or ("amazonaws.com" not in text and "arn:aws" not in text):
            continue
        for region, reference in _regions_named(text):
            if region not in allowed:
                yield Violation(f"{path} refers to {region}: {reference}", (ev(path, reference),))
                break
