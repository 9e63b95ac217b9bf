"""Rules meet odd input (a string where a mapping is expected, lists of nulls, placeholders
anywhere) without raising: input loaders pass properties through as the source wrote them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ailab.policy.model import Record, RecordSet, RuleContext, StackRule, all_rules
from ailab.policy.run import Crash, run_rule

RULES = all_rules()

# Keys the rules look at, so generated documents reach deep into the checks.
_KEYS = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "template",
    "jobTemplate",
    "containers",
    "initContainers",
    "securityContext",
    "capabilities",
    "drop",
    "add",
    "env",
    "value",
    "valueFrom",
    "secretKeyRef",
    "command",
    "args",
    "image",
    "resources",
    "requests",
    "limits",
    "volumes",
    "hostPath",
    "ports",
    "hostPort",
    "rules",
    "verbs",
    "resources",
    "apiGroups",
    "roleRef",
    "subjects",
    "policyTypes",
    "podSelector",
    "egress",
    "ingress",
    "to",
    "ipBlock",
    "cidr",
    "hard",
    "tls",
    "hosts",
    "host",
    "type",
    "data",
    "stringData",
    "region",
    "policy",
    "Statement",
    "Effect",
    "Action",
    "Resource",
    "Condition",
    "bucket",
    "encryptionConfig",
    "vpcConfig",
    "enabledClusterLogTypes",
    "parameters",
    "engine",
    "parameterGroupName",
    "blockDeviceMappings",
    "ebs",
    "encrypted",
    "tags",
    "defaultTags",
    "retentionInDays",
    "storageEncrypted",
    "seccompProfile",
    "runAsUser",
    "runAsNonRoot",
    "automountServiceAccountToken",
    "cidrBlocks",
    "networkInterfaces",
    "lifecycleRules",
    "status",
]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-2, max_value=70000)
    | st.sampled_from(
        [
            "",
            "*",
            "[unknown]",
            "[secret]",
            "0.0.0.0/0",
            "latest",
            "ALL",
            "true",
            "default",
            "audit-x",
            "arn:aws:kms:us-east-1:1:key/k",
            "https://s3.us-east-1.amazonaws.com",
            "postgres",
            "mlflow server",
        ]
    )
    | st.text(max_size=6)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), children, max_size=4),
    max_leaves=15,
)
_PROPERTIES = st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6)


def _records(rule_types: list[str], draws: list[tuple[int, dict[str, Any]]]) -> list[Record]:
    return [
        Record(
            type=rule_types[index % len(rule_types)],
            name=f"r{n}",
            urn=f"urn:r{n}",
            properties=props,
            dependencies=(f"urn:r{n - 1}",),
        )
        for n, (index, props) in enumerate(draws)
    ]


@pytest.mark.parametrize("rule_id", sorted(RULES))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draws=st.lists(st.tuples(st.integers(min_value=0, max_value=50), _PROPERTIES), min_size=1, max_size=4))
def test_rule_survives_odd_properties(rule_id: str, draws: list[tuple[int, dict[str, Any]]]) -> None:
    rule = RULES[rule_id]
    records = _records(sorted(rule.types), draws)
    if isinstance(rule, StackRule):
        outcomes = run_rule(rule, RecordSet(records), RuleContext())
    else:
        outcomes = [outcome for record in records for outcome in run_rule(rule, record, RuleContext())]
    for outcome in outcomes:
        if isinstance(outcome, Crash):
            raise outcome.error
