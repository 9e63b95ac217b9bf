"""What every renderer shares: JSON-safe values, locations, short evidence text, the verdict."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from ailab import __version__
from ailab.policy.engine import Finding, Report
from ailab.policy.model import FRAMEWORKS, MISSING, Evidence, Record, Rule, Severity

TOOL_NAME = "ailab policy"
TOOL_VERSION = __version__
SHORT_VALUE = 120


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: dates as ISO text, sets as sorted lists, anything else as text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(item) for item in value), key=str)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return "[binary]"
    return str(value)


def evidence_json(item: Evidence) -> dict[str, Any]:
    """``{"path", "value", "present"}``: ``present`` tells an absent property from an explicit null."""
    present = item.value is not MISSING
    return {"path": item.path, "value": jsonable(item.value) if present else None, "present": present}


def value_text(value: Any, limit: int = SHORT_VALUE) -> str:
    """A short, one-line rendering of an evidence value."""
    if value is MISSING:
        return "(absent)"
    text = json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_text(finding: Finding) -> str:
    return "; ".join(f"{item.path} = {value_text(item.value)}" for item in finding.evidence)


def location_text(record: Record | None, line: int | None = None) -> str:
    """``file:line`` for manifests (``line``, else the record's), the URN otherwise; ``(stack)`` for the stack as a whole."""
    if record is None:
        return "(stack)"
    line = line or record.line
    if record.source and line:
        return f"{record.source}:{line}"
    return record.urn


def finding_location(finding: Finding) -> str:
    """Where a finding is: the line of the property at fault in a manifest (see :attr:`Finding.line`)."""
    return location_text(finding.record, finding.line)


def resource_json(record: Record | None, line: int | None = None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"type": record.type, "name": record.name, "urn": record.urn, "source": record.source, "line": line or record.line}


def control_json(rule: Rule) -> list[dict[str, str]]:
    return [
        {"framework": control.framework, "ref": control.ref, "title": control.title, "label": control.label()}
        for control in rule.controls
    ]


def rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "scope": rule.scope,
        "types": sorted(rule.types),
        "rationale": rule.rationale,
        "remediation": rule.remediation,
        "controls": control_json(rule),
    }


def verdict(report: Report, fail_on: Severity) -> tuple[bool, str]:
    """Whether the check passes at ``fail_on``, and one sentence saying why."""
    blocking = report.blocking(fail_on)
    errors = len(report.errors())
    if not blocking:
        return (
            True,
            f"passed: no finding at or above {fail_on.value} ({len(report.failed())} below it, {len(report.waived())} waived)",
        )
    parts = [f"{len(blocking) - errors} finding(s) at or above {fail_on.value}"]
    if errors:
        parts.append(f"{errors} rule error(s)")
    return False, "failed: " + " and ".join(parts)


def framework_name(key: str) -> str:
    return FRAMEWORKS.get(key, key)
