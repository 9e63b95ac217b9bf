"""IAM and resource policy documents, built as Pulumi Outputs.

Every document goes through :func:`document`, so each one is plain IAM JSON (version
2012-10-17) that the policy engine can parse, with ARNs known only after deployment filled in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

Statement = dict[str, Any]
Condition = Mapping[str, Mapping[str, Any]]


def statement(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]] | None = None,
    *,
    effect: str = "Allow",
    principal: Mapping[str, Any] | None = None,
    condition: Condition | None = None,
) -> Statement:
    """One statement; ``resources`` is omitted for trust policies, ``principal`` for identity policies."""
    result: Statement = {"Sid": sid, "Effect": effect}
    if principal is not None:
        result["Principal"] = dict(principal)
    result["Action"] = list(actions)
    if resources is not None:
        result["Resource"] = list(resources)
    if condition:
        result["Condition"] = {operator: dict(values) for operator, values in condition.items()}
    return result


def document(*statements: pulumi.Input[Statement]) -> pulumi.Output[str]:
    """A policy document as a JSON string Output; statements may hold Outputs or be Outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, condition: Condition | None = None) -> pulumi.Output[str]:
    """A trust policy letting the AWS service ``service`` (``eks.amazonaws.com``) assume the role."""
    return document(statement("AssumedByService", ["sts:AssumeRole"], principal={"Service": service}, condition=condition))
