"""JUnit XML, for CI systems that show test reports: one test suite per rule.

A rule with no finding is one passing test case. Each finding is a test case named after
its resource: a blocking finding (at or above ``--fail-on``) is a failure, a rule crash an
error, a waived finding or one below ``--fail-on`` is skipped with the reason, so the CI
verdict and the exit code agree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from ailab.policy.engine import Finding, Report, Status
from ailab.policy.model import Severity
from ailab.policy.report.common import evidence_text, finding_location

# Characters XML 1.0 cannot carry, escaped or not; ElementTree writes them as they are, making the file unreadable.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(report: Report, fail_on: Severity) -> str:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule.id].append(finding)
    root = ET.Element("testsuites", name="ailab policy", timestamp=report.generated_at.isoformat())
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rule in report.rules:
        findings = by_rule.get(rule.id, [])
        suite = ET.SubElement(root, "testsuite", name=f"{rule.id} {rule.title}")
        counts = {"tests": max(len(findings), 1), "failures": 0, "errors": 0, "skipped": 0}
        if not findings:
            ET.SubElement(suite, "testcase", classname=rule.id, name=f"all {report.record_count} resources checked")
        for finding in findings:
            counts[_add_case(suite, finding, fail_on)] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + _NOT_XML.sub("\ufffd", ET.tostring(root, encoding="unicode")) + "\n"


def _add_case(suite: ET.Element, finding: Finding, fail_on: Severity) -> str:
    """Add the test case of ``finding``; returns the counter it adds to."""
    case = ET.SubElement(suite, "testcase", classname=finding.rule.id, name=finding_location(finding))
    detail = "\n".join(
        line
        for line in (
            f"severity: {finding.severity.value}",
            f"resource: {finding.record.urn}" if finding.record is not None else "",
            f"evidence: {evidence_text(finding)}" if finding.evidence else "",
            f"remediation: {finding.rule.remediation}",
            "controls: " + "; ".join(control.label() for control in finding.rule.controls),
        )
        if line
    )
    if finding.status is Status.ERROR:
        ET.SubElement(case, "error", message=finding.message, type="RuleError").text = detail
        return "errors"
    if finding.status is Status.WAIVED and finding.waiver is not None:
        waiver = finding.waiver
        reason = f"waived until {waiver.expires.isoformat()} by {waiver.approver}: {waiver.justification}"
        ET.SubElement(case, "skipped", message=reason)
        return "skipped"
    if not finding.is_blocking(fail_on):
        ET.SubElement(
            case, "skipped", message=f"advisory ({finding.severity.value}, below --fail-on {fail_on.value}): {finding.message}"
        )
        return "skipped"
    ET.SubElement(case, "failure", message=finding.message, type=finding.severity.value).text = detail
    return "failures"
