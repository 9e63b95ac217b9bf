"""The compliance gate: a sandbox's offline plan checked by the policy engine before anything is deployed.

Any finding at ``high`` or ``critical`` blocks; the report travels with the refusal so the
command can print it, and the verdict goes into the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ailab.errors import OperationFailedError
from ailab.plan.graph import Plan
from ailab.policy.engine import Finding, Report, evaluate
from ailab.policy.model import RuleContext, Severity
from ailab.spec.model import LabSpec

FAIL_ON = Severity.HIGH


@dataclass(frozen=True)
class GateResult:
    """The policy report of one plan and what it means for the sandbox."""

    report: Report
    blocking: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def verdict(self) -> dict[str, Any]:
        """The audit log's summary: pass/block, failed findings by severity, rule errors, the blocking rule ids."""
        counts = {str(severity): count for severity, count in self.report.counts_by_severity().items() if count}
        return {
            "result": "pass" if self.passed else "block",
            "fail_on": str(FAIL_ON),
            "rules": len(self.report.rules),
            "failed": counts,
            "errors": len(self.report.errors()),
            "blocking": sorted({finding.rule.id for finding in self.blocking}),
        }


class GateBlockedError(OperationFailedError):
    """The plan has findings at or above :data:`FAIL_ON`; nothing was deployed."""

    def __init__(self, audit_id: str, result: GateResult, what: str = "sandbox") -> None:
        rules = ", ".join(result.verdict()["blocking"])
        super().__init__(
            f"{what} {audit_id}: the policy gate blocked it ({len(result.blocking)} finding(s) at {FAIL_ON} or above: {rules}); "
            "nothing was deployed"
        )
        self.result = result


def check(plan: Plan, lab: LabSpec, alongside: Sequence[Plan] = ()) -> GateResult:
    """Evaluate every rule on ``plan`` (read as the policy engine reads plan files), with the lab's registries.

    ``alongside``: plans of what ``plan`` deploys into (an evaluation Job's sandbox), checked with it, so that
    rules reading a whole namespace see its quota and default-deny policies.
    """
    from ailab.policy.loaders import records_from_plan

    records = [
        record for each in (plan, *alongside) for record in records_from_plan(each.to_json(), f"{each.program} plan {each.stack}")
    ]
    report = evaluate(records, context=RuleContext.from_lab(lab))
    return GateResult(report, tuple(report.blocking(FAIL_ON)))
