"""OSCAL assessment results (NIST OSCAL 1.1) for one audit, from its trail records.

Observations are what was measured or decided (each recorded operation, with the verdict's result
and, for evaluation records, their metrics); findings are, per control that a policy verdict names,
whether it was met. Every item carries the ``seq`` of the signed record it comes from.
"""

from __future__ import annotations

import uuid
from typing import Any

from ailab.trail.records import utc_time

OSCAL_VERSION = "1.1.2"
NAMESPACE = uuid.UUID("8f0e4c8c-6a43-4e0c-9a51-3f7d0c1b2a60")


def _id(*parts: object) -> str:
    """Stable UUIDs: the same records give the same document."""
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def assessment_results(
    audit_id: str, records: list[dict[str, Any]], generated: str, runs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    observations = [_observation(audit_id, record) for record in records]
    observations += [_run_observation(audit_id, run) for run in runs or []]
    findings = [finding for record in records for finding in _findings(audit_id, record)]
    return {
        "assessment-results": {
            "uuid": _id(audit_id, "assessment-results", generated),
            "metadata": {
                "title": f"ailab audit {audit_id}: assessment results",
                "last-modified": generated,
                "version": "1",
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": f"#ailab-audit-{audit_id}"},
            "results": [
                {
                    "uuid": _id(audit_id, "result"),
                    "title": f"Operations and verdicts of audit {audit_id}",
                    "description": "From the signed audit trail; each item names its record (seq).",
                    "start": records[0]["time"] if records else generated,
                    "end": records[-1]["time"] if records else generated,
                    "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                    "observations": observations,
                    "findings": findings,
                }
            ],
        }
    }


def _observation(audit_id: str, record: dict[str, Any]) -> dict[str, Any]:
    verdict = record["verdict"] or {}
    props = [
        {"name": "action", "ns": "https://ailab.example/ns", "value": record["action"]},
        {"name": "outcome", "ns": "https://ailab.example/ns", "value": record["outcome"]},
        {"name": "record-seq", "ns": "https://ailab.example/ns", "value": str(record["seq"])},
    ]
    if "result" in verdict:
        props.append({"name": "verdict", "ns": "https://ailab.example/ns", "value": str(verdict["result"])})
    metrics = record["arguments"].get("metrics")
    if isinstance(metrics, dict):  # evaluation records carry their measured values
        props += [{"name": f"metric-{k}", "ns": "https://ailab.example/ns", "value": str(v)} for k, v in sorted(metrics.items())]
    return {
        "uuid": _id(audit_id, "observation", record["seq"]),
        "title": f"{record['action']} {record['outcome']}",
        "description": record["detail"] or f"{record['action']} by {record['actor']['user']}@{record['actor']['host']}",
        "props": props,
        "methods": ["TEST" if record["action"].startswith("eval.") else "EXAMINE"],
        "collected": record["time"],
    }


def _run_observation(audit_id: str, run: dict[str, Any]) -> dict[str, Any]:
    """An MLflow run's metrics: measured values, as the tracking server holds them."""
    props = [{"name": "mlflow-run-id", "ns": "https://ailab.example/ns", "value": str(run["run_id"])}]
    props += [
        {"name": f"metric-{name}", "ns": "https://ailab.example/ns", "value": str(value)}
        for name, value in sorted(run["metrics"].items())
    ]
    return {
        "uuid": _id(audit_id, "run", run["run_id"]),
        "title": f"MLflow run {run.get('run_name') or run['run_id']}",
        "description": f"Metrics of MLflow run {run['run_id']} ({run.get('status')}).",
        "props": props,
        "methods": ["TEST"],
        "collected": _millis(run.get("end_time") or run.get("start_time")),
    }


def _millis(value: Any) -> str:
    """An MLflow time (milliseconds since the epoch) spelt as the trail spells moments."""
    from datetime import UTC, datetime

    return utc_time(datetime.fromtimestamp(int(value or 0) / 1000, UTC))


def _findings(audit_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    verdict = record["verdict"] or {}
    controls = verdict.get("controls")
    if not isinstance(controls, dict):
        return []
    return [
        {
            "uuid": _id(audit_id, "finding", record["seq"], control),
            "title": f"{control}: {'met' if met else 'not met'}",
            "description": f"Policy verdict of record {record['seq']} ({record['action']}).",
            "target": {
                "type": "objective-id",
                "target-id": str(control),
                "status": {"state": "satisfied" if met else "not-satisfied"},
            },
            "related-observations": [{"observation-uuid": _id(audit_id, "observation", record["seq"])}],
        }
        for control, met in sorted(controls.items())
    ]
