"""Least privilege in AWS IAM: no policy that allows every action on every resource, and no
AdministratorAccess attachment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ailab.policy.model import Record, RuleContext, Violation, resource_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.documents import policy_statements
from ailab.policy.rules.helpers.values import as_list, ev, mapping, strings

_POLICY_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
_ROLE = "aws:iam/role:Role"
_ADMIN_ARN_SUFFIX = ":policy/AdministratorAccess"
_ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
_CONTROLS = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_ACCESS_CONTROL, c.ISO_PRIVILEGED_ACCESS]


def _documents(record: Record) -> list[tuple[str, Any]]:
    """``(path, document)`` of the policy documents a record carries (inline role policies included)."""
    if record.type == _ROLE:
        inline = record.properties.get("inlinePolicies")
        items = inline if isinstance(inline, list) else []
        return [(f"inlinePolicies[{i}].policy", mapping(item).get("policy")) for i, item in enumerate(items)]
    key = _POLICY_DOCUMENTS[record.type]
    return [(key, record.properties.get(key))]


def _is_everything(values: Any) -> bool:
    return any(value in ("*", "*:*") for value in as_list(values))


@resource_rule(
    id="AILAB-AWS-050",
    title="No IAM policy allows every action on every resource",
    severity="critical",
    rationale=(
        "A policy with Action '*' on Resource '*' makes its holder an administrator of the account: it can read "
        "every bucket and database of the lab, disable logging and delete the evidence."
    ),
    remediation="List the actions and resource ARNs the role needs (e.g. s3:GetObject on the artifact bucket ARN/*).",
    types=[*_POLICY_DOCUMENTS, _ROLE],
    controls=_CONTROLS,
)
def iam_no_star_star(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for path, document in _documents(record):
        for index, statement in policy_statements(document):
            if (
                statement.get("Effect") == "Allow"
                and _is_everything(statement.get("Action"))
                and _is_everything(statement.get("Resource"))
            ):
                yield Violation(
                    f"{record.name}: statement {index} allows every action on every resource",
                    (
                        ev(f"{path}.Statement[{index}].Action", statement.get("Action")),
                        ev(f"{path}.Statement[{index}].Resource", statement.get("Resource")),
                    ),
                )


@resource_rule(
    id="AILAB-AWS-051",
    title="AdministratorAccess is not attached",
    severity="high",
    rationale="The AWS-managed AdministratorAccess policy is Action '*' on Resource '*' under another name.",
    remediation="Attach a customer-managed policy with the actions the principal needs instead of arn:aws:iam::aws:policy/AdministratorAccess.",
    types=[*_ATTACHMENTS, _ROLE],
    controls=_CONTROLS,
)
def iam_no_administrator_access(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.type == _ROLE:
        for index, arn in enumerate(strings(record.properties.get("managedPolicyArns"))):
            if arn.endswith(_ADMIN_ARN_SUFFIX):
                yield Violation(f"Role {record.name} carries AdministratorAccess", (ev(f"managedPolicyArns[{index}]", arn),))
        return
    policy_arn = record.properties.get("policyArn")
    if isinstance(policy_arn, str) and policy_arn.endswith(_ADMIN_ARN_SUFFIX):
        yield Violation(f"{record.name} attaches AdministratorAccess", (ev("policyArn", policy_arn),))
