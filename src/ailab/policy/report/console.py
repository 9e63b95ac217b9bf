"""The console report (rich): summary by severity and by framework, then the findings, then the verdict.

The findings table is capped (blocking findings first) so a large check stays readable and
fast; the file formats always carry every finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ailab.policy.engine import SEVERITIES_DESCENDING, Finding, Report, Status
from ailab.policy.model import Severity
from ailab.policy.report.common import evidence_text, finding_location, framework_name, verdict

if TYPE_CHECKING:
    from rich.console import Console

MAX_FINDINGS = 50
_STYLE = {Severity.CRITICAL: "bold white on red", Severity.HIGH: "bold red", Severity.MEDIUM: "yellow", Severity.LOW: "dim"}


def print_report(report: Report, fail_on: Severity, console: Console, max_findings: int = MAX_FINDINGS) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(
        f"[bold]ailab policy check[/]: {report.record_count} resources from {', '.join(report.sources) or 'the input'}, "
        f"{len(report.rules)} rules",
        markup=True,
    )
    failed, waived = report.counts_by_severity(), report.counts_by_severity(Status.WAIVED)
    summary = Table(title="Findings by severity", title_justify="left")
    for column in ("severity", "failed", "waived"):
        summary.add_column(column, justify="left" if column == "severity" else "right")
    for severity in SEVERITIES_DESCENDING:
        summary.add_row(f"[{_STYLE[severity]}]{severity.value}[/]", str(failed[severity]), str(waived[severity]))
    console.print(summary)
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]", markup=True, highlight=False)

    by_framework, waived_by_framework = report.counts_by_framework(), report.waived_by_framework()
    if by_framework:
        table = Table(title="Failed findings by framework (and waived)", title_justify="left")
        table.add_column("framework")
        for severity in SEVERITIES_DESCENDING:
            table.add_column(severity.value, justify="right")
        table.add_column("waived", justify="right")
        for framework, counts in by_framework.items():
            table.add_row(
                framework_name(framework),
                *(str(counts[severity]) for severity in SEVERITIES_DESCENDING),
                str(waived_by_framework.get(framework, 0)),
            )
        console.print(table)

    findings = sorted(report.failed(), key=lambda finding: not finding.is_blocking(fail_on))
    if findings:
        console.print(_findings_table(findings[:max_findings], fail_on))
        if len(findings) > max_findings:
            console.print(
                f"… {len(findings) - max_findings} more findings: write them all with --format html,json,sarif --output DIR"
            )

    waived_findings = report.waived()
    if waived_findings:
        console.print(_waived_table(waived_findings[:max_findings]))
        if len(waived_findings) > max_findings:
            console.print(f"… {len(waived_findings) - max_findings} more waived findings: see the file reports")

    # Messages, selectors (globs such as [ab]*) and approvers are user text: escaped, never read as markup.
    for finding in report.errors():
        console.print(f"[bold red]rule error[/] {escape(finding.message)}", markup=True, highlight=False)
    for use in report.waiver_problems():
        waiver = use.waiver
        console.print(
            f"[yellow]waiver {use.state.value}[/] "
            + escape(
                f"{waiver.location}: {waiver.rule_id} {waiver.selector.describe()} "
                f"(approved by {waiver.approver}, expires {waiver.expires})"
            ),
            markup=True,
            highlight=False,
        )
    passed, summary_text = verdict(report, fail_on)
    console.print(f"[{'bold green' if passed else 'bold red'}]{summary_text}[/]", markup=True)


def _findings_table(findings: list[Finding], fail_on: Severity) -> object:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Findings (blocking at {fail_on.value} and above first)", title_justify="left", show_lines=False)
    table.add_column("severity")
    table.add_column("rule", no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("finding", overflow="fold")
    for finding in findings:
        evidence = evidence_text(finding)
        text = escape(finding.message) + (f"\n[dim]{escape(evidence)}[/]" if evidence else "")
        if finding.waiver is not None:
            text += f"\n[yellow]waiver expired {finding.waiver.expires}[/]"
        severity = f"[{_STYLE[finding.severity]}]{finding.severity.value}[/]"
        table.add_row(severity, finding.rule.id, _resource(finding), text)
    return table


def _waived_table(findings: list[Finding]) -> object:
    """Waived findings, each with who accepted it, until when and why: a sign-off names what it accepts."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Waived findings", title_justify="left")
    table.add_column("severity")
    table.add_column("rule", no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("waiver", overflow="fold")
    for finding in findings:
        waiver = finding.waiver
        detail = (
            f"{escape(waiver.justification)}\n[dim]approved by {escape(waiver.approver)}, expires {waiver.expires}[/]"
            if waiver is not None
            else ""
        )
        table.add_row(f"[{_STYLE[finding.severity]}]{finding.severity.value}[/]", finding.rule.id, _resource(finding), detail)
    return table


def _resource(finding: Finding) -> str:
    """File and line for manifests; for Pulumi resources the name and type (the URN is in the report files)."""
    from rich.markup import escape

    record = finding.record
    if record is None or (record.source and record.line):
        return escape(finding_location(finding))
    return f"{escape(record.name)}\n[dim]{escape(record.type)}[/]"
