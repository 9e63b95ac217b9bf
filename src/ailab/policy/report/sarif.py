"""SARIF 2.1.0, for code-scanning dashboards (GitHub, GitLab, DefectDojo, VS Code's SARIF viewer).

* ``tool.driver.rules``: every evaluated rule, with help text and, in ``properties``, its
  severity, ``security-severity`` (the score GitHub ranks by) and control mappings.
* ``results``: failed and waived findings. Level: critical/high → error, medium → warning,
  low → note. Locations: the file and line of a manifest, or the file a plan or preview was
  read from; always a logical location carrying the Pulumi URN. A waived finding carries an
  accepted ``suppression`` with the waiver's justification.
* ``partialFingerprints``: ``ailabFinding/v1`` hashes the rule, the URN and the properties at
  fault, so a finding keeps its identity across runs while messages are reworded.
* A rule that crashed is a tool execution notification, and the run is not successful.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from ailab.policy.engine import Finding, Report, Status
from ailab.policy.model import Record, Rule, Severity
from ailab.policy.report.common import TOOL_NAME, TOOL_VERSION, control_json, evidence_json, evidence_text, framework_name

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "ailabFinding/v1"
LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning", Severity.LOW: "note"}
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}


def render(report: Report, fail_on: Severity) -> str:
    # Compact, as the JSON report: the indenting encoder is pure Python.
    return json.dumps(sarif_log(report), ensure_ascii=False, separators=(",", ":")) + "\n"


def sarif_log(report: Report) -> dict[str, Any]:
    rule_index = {rule.id: index for index, rule in enumerate(report.rules)}
    fallback = _artifact(report.sources[0]) if report.sources else None
    results = [_result(finding, rule_index, fallback) for finding in report.findings if finding.status is not Status.ERROR]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": TOOL_VERSION,
                        "semanticVersion": TOOL_VERSION,
                        "rules": [_rule(rule) for rule in report.rules],
                    }
                },
                "invocations": [_invocation(report, rule_index)],
                # SARIF's own place for what was analysed, with the SHA-256 of each file.
                "artifacts": [{"location": _artifact(path), "hashes": {"sha-256": digest}} for path, digest in report.inputs],
                "results": results,
                "properties": {"records": report.record_count, "sources": list(report.sources)},
            }
        ],
    }


def _rule(rule: Rule) -> dict[str, Any]:
    controls = "\n".join(
        f"- {control.label()}: {control.title}" if control.title else f"- {control.label()}" for control in rule.controls
    )
    return {
        "id": rule.id,
        "name": rule.id,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": f"{rule.remediation}\n\nControls:\n{controls}",
            "markdown": f"**Why:** {rule.rationale}\n\n**Fix:** {rule.remediation}\n\n**Controls:**\n{controls}",
        },
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {
            "severity": rule.severity.value,
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "scope": rule.scope,
            "types": sorted(rule.types),
            "tags": ["security", "compliance", *sorted(rule.frameworks())],
            "frameworks": {key: framework_name(key) for key in sorted(rule.frameworks())},
            "controls": control_json(rule),
        },
    }


def _result(finding: Finding, rule_index: dict[str, int], fallback: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "ruleIndex": rule_index[finding.rule.id],
        "level": LEVELS[finding.severity],
        "message": {"text": _message(finding)},
        "locations": _locations(finding.record, fallback, finding.line),
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.severity.value,
            "status": finding.status.value,
            "evidence": [evidence_json(item) for item in finding.evidence],
        },
    }
    if finding.record is not None:
        result["properties"]["resourceType"] = finding.record.type
    waiver = finding.waiver
    if waiver is not None and finding.status is Status.WAIVED:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": waiver.justification,
                "location": {
                    "physicalLocation": {"artifactLocation": _artifact(waiver.source), "region": {"startLine": waiver.line}}
                },
                "properties": {"approver": waiver.approver, "expires": waiver.expires.isoformat()},
            }
        ]
    elif waiver is not None:
        result["properties"]["expiredWaiver"] = waiver.to_json()
    return result


def _message(finding: Finding) -> str:
    evidence = evidence_text(finding)
    return f"{finding.message} ({evidence})" if evidence else finding.message


def _locations(record: Record | None, fallback: dict[str, Any] | None, line: int | None) -> list[dict[str, Any]]:
    if record is None:
        return [{"physicalLocation": {"artifactLocation": fallback}}] if fallback else []
    location: dict[str, Any] = {"logicalLocations": [{"name": record.name, "fullyQualifiedName": record.urn, "kind": "resource"}]}
    if record.source:
        physical: dict[str, Any] = {"artifactLocation": _artifact(record.source)}
        if line:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    return [location]


@lru_cache(maxsize=1024)
def _artifact_uri(source: str) -> str:
    path = Path(source)
    return path.as_uri() if path.is_absolute() else quote(PurePosixPath(*path.parts).as_posix())


def _artifact(source: str) -> dict[str, Any]:
    """A relative path stays a relative URI reference (resolved against the checkout); an absolute one becomes a file URI."""
    return {"uri": _artifact_uri(source)}


def _invocation(report: Report, rule_index: dict[str, int]) -> dict[str, Any]:
    errors = report.errors()
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    notes = [{"level": "note", "message": {"text": note}} for note in report.notes]  # input skipped, and why
    if errors or notes:
        invocation["toolExecutionNotifications"] = notes + [
            {
                "level": "error",
                "message": {"text": finding.message},
                "associatedRule": {"id": finding.rule.id, "index": rule_index[finding.rule.id]},
                "locations": _locations(finding.record, None, finding.line),
            }
            for finding in errors
        ]
    return invocation
