"""Running a rule: the one place where a rule's check is called.

The engine, the CrossGuard pack and the rule tests all run rules through :func:`run_rule`, so a
resource rule's violations name the same record and a rule that raises is reported the same way
everywhere: as a :class:`Crash` among its outcomes, never as an exception that hides the other
verdicts (a rule that could not run has not shown anything compliant). Which records a resource
rule sees is :meth:`~ailab.policy.model.RuleMeta.applies_to`'s answer; the engine runs every rule
for one record before moving to the next, which the rule helpers' per-record caches rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

from ailab.policy.model import Record, RecordSet, ResourceRule, Rule, RuleContext, StackRule, Violation


@dataclass(frozen=True)
class Crash:
    """A rule's check raised ``error`` (on ``record``, for a resource rule)."""

    record: Record | None
    error: Exception


Outcome = Violation | Crash


@overload
def run_rule(rule: ResourceRule, subject: Record, context: RuleContext) -> list[Outcome]: ...


@overload
def run_rule(rule: StackRule, subject: RecordSet, context: RuleContext) -> list[Outcome]: ...


def run_rule(rule: Rule, subject: Record | RecordSet, context: RuleContext) -> list[Outcome]:
    """The violations of ``rule`` on ``subject`` (a record for a resource rule, every record for a stack rule).

    A resource rule's violations name the checked record unless they name another. Violations a
    check yielded before it raised are kept, followed by the :class:`Crash`.
    """
    outcomes: list[Outcome] = []
    if isinstance(rule, ResourceRule):
        assert isinstance(subject, Record)
        try:
            for violation in rule.check(subject, context):
                outcomes.append(
                    violation if violation.record is not None else Violation(violation.message, violation.evidence, subject)
                )
        except Exception as error:  # a rule's bug must not hide the other verdicts
            outcomes.append(Crash(subject, error))
        return outcomes
    assert isinstance(subject, RecordSet)
    try:
        outcomes.extend(rule.check(subject, context))
    except Exception as error:  # as above
        outcomes.append(Crash(None, error))
    return outcomes
