"""Markdown for a merge-request comment: the verdict, the counts, the blocking findings, the rest folded."""

from __future__ import annotations

from ailab.policy.engine import Finding, Report, Status
from ailab.policy.model import Severity
from ailab.policy.report.common import evidence_text, finding_location, framework_name, verdict

MAX_ROWS = 100
"""Merge-request comments have a size limit (GitLab: 1 MB, GitHub: 65,536 characters)."""


def render(report: Report, fail_on: Severity) -> str:
    passed, summary = verdict(report, fail_on)
    lines = [
        f"## {'✅' if passed else '❌'} ailab policy check {summary}",
        "",
        f"{report.record_count} resources from {_sources(report)} checked against {len(report.rules)} rules "
        f"on {report.generated_at:%Y-%m-%d %H:%M} UTC.",
        "",
        *_summary(report),
    ]
    if report.notes:
        lines += ["", *_folded(f"{len(report.notes)} note(s) on the input", [f"- {_cell(note)}" for note in report.notes])]
    blocking = report.blocking(fail_on)
    if blocking:
        lines += ["", f"### Blocking findings (at or above {fail_on.value})", "", *_table(blocking)]
    advisory = [finding for finding in report.failed() if not finding.is_blocking(fail_on)]
    if advisory:
        lines += ["", *_folded(f"{len(advisory)} advisory finding(s) below {fail_on.value}", _table(advisory))]
    if report.waived():
        lines += ["", *_folded(f"{len(report.waived())} waived finding(s)", _waived_table(report.waived()))]
    problems = report.waiver_problems()
    if problems:
        lines += ["", "### Waivers needing attention", ""]
        lines += [
            f"- **{use.state.value}**: `{use.waiver.rule_id}` {_cell(use.waiver.selector.describe())} "
            f"(approved by {_cell(use.waiver.approver)}, expires {use.waiver.expires}, {use.waiver.location})"
            for use in problems
        ]
    return "\n".join(lines) + "\n"


def _sources(report: Report) -> str:
    return ", ".join(f"`{source}`" for source in report.sources) or "the input"


def _summary(report: Report) -> list[str]:
    failed, waived = report.counts_by_severity(), report.counts_by_severity(Status.WAIVED)
    lines = [
        "| severity | failed | waived |",
        "|---|---:|---:|",
        *(f"| {severity.value} | {failed[severity]} | {waived[severity]} |" for severity in failed),
    ]
    if report.errors():
        lines.append(f"| rule errors | {len(report.errors())} | |")
    by_framework, waived_by_framework = report.counts_by_framework(), report.waived_by_framework()
    if by_framework:
        severities = list(next(iter(by_framework.values())))
        lines += [
            "",
            "| framework | " + " | ".join(severity.value for severity in severities) + " | waived |",
            "|---|" + "---:|" * (len(severities) + 1),
            *(
                f"| {framework_name(framework)} | "
                + " | ".join(str(counts[severity]) for severity in severities)
                + f" | {waived_by_framework.get(framework, 0)} |"
                for framework, counts in by_framework.items()
            ),
        ]
    return lines


def _table(findings: list[Finding]) -> list[str]:
    rows = [
        f"| {finding.severity.value} | `{finding.rule.id}` | {_cell(finding_location(finding))} | "
        f"{_cell(finding.message)} | {_cell(evidence_text(finding))} |"
        for finding in findings[:MAX_ROWS]
    ]
    more = ["", f"… and {len(findings) - MAX_ROWS} more; see the HTML or JSON report."] if len(findings) > MAX_ROWS else []
    return ["| severity | rule | resource | finding | evidence |", "|---|---|---|---|---|", *rows, *more]


def _waived_table(findings: list[Finding]) -> list[str]:
    rows = [
        f"| `{finding.rule.id}` | {_cell(finding_location(finding))} | {_cell(finding.waiver.justification)} | "
        f"{_cell(finding.waiver.approver)} | {finding.waiver.expires} |"
        for finding in findings[:MAX_ROWS]
        if finding.waiver is not None
    ]
    return ["| rule | resource | justification | approver | expires |", "|---|---|---|---|---|", *rows]


def _folded(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def _cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, no line breaks, no HTML."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")
