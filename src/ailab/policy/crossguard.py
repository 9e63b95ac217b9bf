"""The rules as Pulumi CrossGuard policies, for ``pulumi preview --policy-pack policies``.

One ``ResourceValidationPolicy`` per resource rule and one ``StackValidationPolicy`` per stack
rule, built from the same catalogue as ``ailab policy check``: mandatory for critical and
high rules, advisory otherwise. Only ``policies/__main__.py`` builds the ``PolicyPack`` (which
starts the analyzer's gRPC server); the validators here are plain functions, tested by
calling them with constructed arguments.

Messages name the properties at fault but not their values: CrossGuard hands policies
secret values in plain text, and a violation message is printed by ``pulumi preview``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity

from ailab.formats import STACK_TYPE
from ailab.policy.crossguard_proxy import unwrap
from ailab.policy.kubernetes_apis import current_type
from ailab.policy.loaders.values import plain
from ailab.policy.model import FRAMEWORKS, Record, RecordSet, ResourceRule, Rule, RuleContext, Severity, StackRule, all_rules
from ailab.policy.run import Crash, Outcome, run_rule

MANDATORY = frozenset({Severity.CRITICAL, Severity.HIGH})


def enforcement(rule: Rule) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if rule.severity in MANDATORY else EnforcementLevel.ADVISORY


def build_policies(rules: Iterable[Rule] | None = None, context: RuleContext | None = None) -> list[Policy]:
    """A CrossGuard policy for every rule (default: the whole catalogue)."""
    context = context or default_context()
    selected = list(all_rules().values()) if rules is None else list(rules)
    return [_policy(rule, context) for rule in selected]


def default_context() -> RuleContext:
    """EU regions and the lab's default registries: a policy pack does not know the stack's specification."""
    return RuleContext.from_lab()


def _policy(rule: Rule, context: RuleContext) -> Policy:
    common: dict[str, Any] = {
        "name": rule.id,
        "description": rule.title,
        "enforcement_level": enforcement(rule),
        "display_name": rule.title,
        "severity": PolicySeverity(rule.severity.value),
        "framework": _framework(rule),
        "tags": sorted(rule.frameworks()),
        "remediation_steps": rule.remediation,
    }
    if isinstance(rule, StackRule):
        return StackValidationPolicy(validate=stack_validator(rule, context), **common)
    return ResourceValidationPolicy(validate=resource_validator(rule, context), **common)


def _framework(rule: Rule) -> PolicyComplianceFramework | None:
    """CrossGuard takes one framework per policy: the rule's first control; all of them are in the message's rule docs."""
    if not rule.controls:
        return None
    control = rule.controls[0]
    return PolicyComplianceFramework(
        name=FRAMEWORKS[control.framework], reference=control.ref, specification=control.title or None
    )


def resource_validator(rule: ResourceRule, context: RuleContext) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        # CrossGuard calls every resource policy for every resource; the rule's types decide, as in the engine.
        resource_type = current_type(args.resource_type)  # a removed API version is checked as its current kind
        if not rule.applies_to(resource_type):
            return
        record = Record(
            type=resource_type,
            name=args.name,
            urn=args.urn,
            properties=_plain_props(args.props),
            provider=args.provider.urn if args.provider is not None else None,
        )
        for message, _ in _messages(rule, run_rule(rule, record, context)):
            report_violation(message, None)

    return validate


def stack_validator(rule: StackRule, context: RuleContext) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        records = RecordSet(
            Record(
                type=current_type(resource.resource_type),
                name=resource.name,
                urn=resource.urn,
                properties=_plain_props(resource.props),
                parent=resource.parent.urn if resource.parent is not None else None,
                dependencies=tuple(dependency.urn for dependency in resource.dependencies),
                provider=resource.provider.urn if resource.provider is not None else None,
            )
            for resource in args.resources
            if resource.resource_type != STACK_TYPE
        )
        for message, urn in _messages(rule, run_rule(rule, records, context)):
            report_violation(message, urn)

    return validate


def _messages(rule: Rule, outcomes: list[Outcome]) -> list[tuple[str, str | None]]:
    """``(message, urn)`` per violation; a crash is one violation saying so (a rule that cannot run must not pass)."""
    results: list[tuple[str, str | None]] = []
    for outcome in outcomes:
        if isinstance(outcome, Crash):
            error = outcome.error
            results.append(
                (f"[{rule.id}] rule could not run: {type(error).__name__}: {error}; report this as a bug in the rule", None)
            )
            continue
        paths = ", ".join(item.path for item in outcome.evidence)
        message = f"[{rule.id}] {outcome.message}" + (f" (at {paths})" if paths else "")
        results.append((message, outcome.record.urn if outcome.record is not None else None))
    return results


def _plain_props(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The raw properties behind CrossGuard's unknown-checking proxies, with unknowns as ``[unknown]``.

    The proxies (one around every nested object and list) raise on reading a value unknown
    during preview; rules instead see ``[unknown]``, as they do in a preview file, and decide.
    """
    properties: Mapping[str, Any] = plain(unwrap(props))
    return properties
