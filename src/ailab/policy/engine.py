"""The policy engine: rules run over records, waivers applied, one :class:`Report`.

``evaluate`` is also the creation gate of ``ailab sandbox create``: keep its signature stable.
A rule that raises does not stop the run; it becomes an ``error`` finding, and an error is
always blocking, since a rule that could not run has not shown the resource compliant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ailab.errors import BadInputError
from ailab.policy.model import (
    FRAMEWORKS,
    Evidence,
    Record,
    RecordSet,
    ResourceRule,
    Rule,
    RuleContext,
    Severity,
    StackRule,
    all_rules,
)
from ailab.policy.run import Crash, Outcome, run_rule
from ailab.policy.waivers import Waiver, WaiverState, WaiverUse
from ailab.safeload import gc_paused

SEVERITIES_DESCENDING = tuple(sorted(Severity, key=lambda severity: -severity.rank))


def _zero_by_severity() -> dict[Severity, int]:
    return dict.fromkeys(SEVERITIES_DESCENDING, 0)


class Status(StrEnum):
    FAILED = "failed"
    WAIVED = "waived"
    ERROR = "error"
    """The rule raised instead of deciding."""


_STATUS_ORDER = {Status.ERROR: 0, Status.FAILED: 1, Status.WAIVED: 2}


@dataclass(frozen=True)
class Finding:
    """One verdict against one resource (or, for a stack rule, possibly the stack as a whole)."""

    rule: Rule
    record: Record | None
    message: str
    evidence: tuple[Evidence, ...] = ()
    status: Status = Status.FAILED
    waiver: Waiver | None = None
    """The waiver that waived it, or for a failed finding, the expired waiver that no longer does."""

    @property
    def severity(self) -> Severity:
        return self.rule.severity

    @property
    def fingerprint(self) -> str:
        """Stable across runs: the rule, the resource's URN and the properties at fault (not the message's wording)."""
        urn = self.record.urn if self.record is not None else ""
        paths = "\0".join(sorted(item.path for item in self.evidence))
        return hashlib.sha256(f"{self.rule.id}\0{urn}\0{paths}".encode()).hexdigest()[:32]

    @property
    def line(self) -> int | None:
        """The line of the first property at fault in the record's file (manifests), else the record's own line."""
        if self.record is None:
            return None
        return self.record.line_of(self.evidence[0].path) if self.evidence else self.record.line

    def is_blocking(self, fail_on: Severity) -> bool:
        """An error always; a failed finding at or above ``fail_on``."""
        return self.status is Status.ERROR or (self.status is Status.FAILED and self.severity.at_least(fail_on))

    def sort_key(self) -> tuple[int, int, str, str, str]:
        urn = self.record.urn if self.record is not None else ""
        return (-self.rule.severity.rank, _STATUS_ORDER[self.status], self.rule.id, urn, self.message)


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs: findings, the rules that ran, what the waivers did."""

    findings: tuple[Finding, ...]
    rules: tuple[Rule, ...]
    record_count: int
    sources: tuple[str, ...] = ()
    waivers: tuple[WaiverUse, ...] = ()
    context: RuleContext = field(default_factory=RuleContext)
    notes: tuple[str, ...] = ()
    """What the loaders skipped and why (files that are not manifests, null List items), one line each."""
    inputs: tuple[tuple[str, str], ...] = ()
    """Every file read, with its SHA-256: ``(path, hex digest)``."""
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    def of_status(self, status: Status) -> list[Finding]:
        return [finding for finding in self.findings if finding.status is status]

    def failed(self) -> list[Finding]:
        return self.of_status(Status.FAILED)

    def waived(self) -> list[Finding]:
        return self.of_status(Status.WAIVED)

    def errors(self) -> list[Finding]:
        return self.of_status(Status.ERROR)

    def counts_by_severity(self, status: Status = Status.FAILED) -> dict[Severity, int]:
        """Findings of ``status`` per severity, every severity present, most severe first."""
        counts = _zero_by_severity()
        for finding in self.of_status(status):
            counts[finding.severity] += 1
        return counts

    def waived_by_framework(self) -> dict[str, int]:
        """Waived findings per framework (every framework of :meth:`counts_by_framework`, zero included)."""
        return {framework: sum(counts.values()) for framework, counts in self.counts_by_framework(Status.WAIVED).items()}

    def counts_by_framework(self, status: Status = Status.FAILED) -> dict[str, dict[Severity, int]]:
        """Findings of ``status`` per framework the rules map to (a finding counts once in each), then per severity.

        Every framework some evaluated rule maps to is present, in :data:`FRAMEWORKS` order.
        """
        mapped = set().union(*(rule.frameworks() for rule in self.rules))
        counts = {framework: _zero_by_severity() for framework in FRAMEWORKS if framework in mapped}
        for finding in self.of_status(status):
            for framework in finding.rule.frameworks():
                counts.setdefault(framework, _zero_by_severity())[finding.severity] += 1
        return counts

    def blocking(self, fail_on: Severity) -> list[Finding]:
        """Failed findings at or above ``fail_on``, and every error."""
        return [finding for finding in self.findings if finding.is_blocking(fail_on)]

    def waiver_problems(self) -> list[WaiverUse]:
        """Expired and unused waivers: both need someone's attention."""
        return [use for use in self.waivers if use.state in (WaiverState.EXPIRED, WaiverState.UNUSED)]


def evaluate(
    records: Iterable[Record],
    *,
    rules: Iterable[Rule] | Mapping[str, Rule] | None = None,
    context: RuleContext | None = None,
    waivers: Iterable[Waiver] | None = None,
    today: dt.date | None = None,
    sources: Iterable[str] = (),
    notes: Iterable[str] = (),
    inputs: Iterable[tuple[str, str]] = (),
) -> Report:
    """Run ``rules`` (default: the whole catalogue) over ``records`` and apply ``waivers`` as of ``today``."""
    selected = _rule_list(rules)
    context = context or RuleContext()
    record_set = records if isinstance(records, RecordSet) else RecordSet(records)
    with gc_paused():  # findings are acyclic: spare full collections over a growing heap
        findings = _run_rules(record_set, selected, context)
        findings, uses = _apply_waivers(findings, list(waivers or ()), {rule.id for rule in selected}, today or dt.date.today())
        findings.sort(key=Finding.sort_key)
    return Report(
        findings=tuple(findings),
        rules=tuple(selected),
        record_count=len(record_set),
        sources=tuple(dict.fromkeys(sources)) or tuple(dict.fromkeys(r.source for r in record_set if r.source)),
        waivers=tuple(uses),
        context=context,
        notes=tuple(notes),
        inputs=tuple(inputs),
    )


def rules_for_frameworks(rules: Iterable[Rule], frameworks: Iterable[str]) -> list[Rule]:
    """The rules mapping to at least one of ``frameworks`` (all rules when none is given)."""
    wanted = set(frameworks)
    unknown = sorted(wanted - FRAMEWORKS.keys())
    if unknown:
        raise BadInputError(f"unknown framework(s) {', '.join(unknown)}; use one of {', '.join(FRAMEWORKS)}")
    return [rule for rule in rules if not wanted or rule.frameworks() & wanted]


def _rule_list(rules: Iterable[Rule] | Mapping[str, Rule] | None) -> list[Rule]:
    if rules is None:
        return list(all_rules().values())
    return list(rules.values()) if isinstance(rules, Mapping) else list(rules)


class _TypeIndex:
    """The resource rules that apply to each type token (:meth:`RuleMeta.applies_to`), worked out once per token."""

    def __init__(self, rules: Iterable[ResourceRule]) -> None:
        self._rules = list(rules)
        self._cache: dict[str, list[ResourceRule]] = {}

    def rules_for(self, type_token: str) -> list[ResourceRule]:
        found = self._cache.get(type_token)
        if found is None:
            found = self._cache[type_token] = [rule for rule in self._rules if rule.applies_to(type_token)]
        return found


def _run_rules(records: RecordSet, rules: list[Rule], context: RuleContext) -> list[Finding]:
    # Record by record, every rule for one record before the next (the rule helpers cache per record).
    index = _TypeIndex(rule for rule in rules if isinstance(rule, ResourceRule))
    findings: list[Finding] = []
    for record in records:
        for resource_rule in index.rules_for(record.type):
            _add_outcomes(findings, resource_rule, run_rule(resource_rule, record, context))
    for stack_rule in rules:
        if isinstance(stack_rule, StackRule):
            _add_outcomes(findings, stack_rule, run_rule(stack_rule, records, context))
    return findings


def _add_outcomes(findings: list[Finding], rule: Rule, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if isinstance(outcome, Crash):
            findings.append(_crashed(rule, outcome.record, outcome.error))
        else:
            findings.append(Finding(rule, outcome.record, outcome.message, outcome.evidence))


def _crashed(rule: Rule, record: Record | None, error: Exception) -> Finding:
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    subject = f" on {record.urn}" if record is not None else ""
    message = f"rule {rule.id} could not run{subject}: {type(error).__name__}: {error}{where}; report this as a bug in the rule"
    return Finding(rule, record, message, status=Status.ERROR)


def _apply_waivers(
    findings: list[Finding], waivers: list[Waiver], evaluated: set[str], today: dt.date
) -> tuple[list[Finding], list[WaiverUse]]:
    by_rule: dict[str, list[Waiver]] = {}
    for item in waivers:
        by_rule.setdefault(item.rule_id, []).append(item)
    matched: dict[int, int] = {}
    result: list[Finding] = []
    for finding in findings:
        candidates = by_rule.get(finding.rule.id) if finding.status is Status.FAILED else None
        matching = [w for w in candidates or () if w.selector.matches(finding.record)]
        if not matching:
            result.append(finding)
            continue
        for w in matching:
            matched[id(w)] = matched.get(id(w), 0) + 1
        # A valid waiver wins over an expired one for the same resource.
        waiver = next((w for w in matching if not w.expired(today)), matching[0])
        status = Status.FAILED if waiver.expired(today) else Status.WAIVED
        result.append(Finding(finding.rule, finding.record, finding.message, finding.evidence, status, waiver))
    return result, [_use(w, matched.get(id(w), 0), evaluated, today) for w in waivers]


def _use(waiver: Waiver, matched: int, evaluated: set[str], today: dt.date) -> WaiverUse:
    if waiver.rule_id not in evaluated:
        state = WaiverState.NOT_EVALUATED
    elif waiver.expired(today):
        state = WaiverState.EXPIRED
    else:
        state = WaiverState.ACTIVE if matched else WaiverState.UNUSED
    return WaiverUse(waiver, state, matched)
