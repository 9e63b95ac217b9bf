"""The typed result of an evaluation: what the runner produces, and what tracking, the report and ``--json`` read.

``to_json``/``from_json`` are the ``evaluation.json`` artifact of a run (schema
``ailab.eu/eval-result/v1``): ``ailab eval report`` renders a run from it alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ailab.errors import AilabError

SCHEMA = "ailab.eu/eval-result/v1"
RUN_JSON_SCHEMA = "ailab.eu/eval-run/v1"

Verdict = Literal["pass", "fail"]


@dataclass
class CheckResult:
    id: str
    kind: str
    metric: str
    """The catalogue entry (metric, perturbation or attack) the check measures."""
    value: float | None
    threshold: float
    threshold_key: str
    """The plan key the threshold was declared with: min, max, max_drop, max_success_rate, max_advantage."""
    verdict: Verdict
    interval: list[float] | None
    reason: str = ""
    """Why the check failed without a value (the model broke on the perturbed input, ...)."""
    details: dict[str, Any] = field(default_factory=dict)
    """Family-specific evidence: per-group tables, the sweep, the attack's figures."""

    def summary(self) -> dict[str, Any]:
        """The entry of ``--json``'s ``checks`` list."""
        return {
            "id": self.id,
            "kind": self.kind,
            "metric": self.metric,
            "value": self.value,
            "threshold": {self.threshold_key: self.threshold},
            "verdict": self.verdict,
            "interval": self.interval,
        }


def passes(value: float, threshold: float, threshold_key: str) -> bool:
    """Whether ``value`` keeps the threshold declared with ``threshold_key`` (``min`` is a floor, every other key a ceiling)."""
    return value >= threshold if threshold_key == "min" else value <= threshold


@dataclass
class Fingerprints:
    plan_sha256: str
    dataset_sha256: str | None
    """None, and the model's fields too, for an endpoint plan (its inputs are in :class:`EndpointRecord`)."""
    train_sha256: str | None
    model_uri: str | None
    model_version: str | None
    model_flavor: str | None
    ailab_version: str
    lock_sha256: str | None


@dataclass
class ProbeSource:
    """What one endpoint check sent: the shipped corpus (and an added file) or the audit's questions."""

    check: str
    source: str
    """The corpus name, or the questions' file."""
    version: str
    """The corpus's version (shipped and added, ``2026.12.0+audit-1``); empty for the audit's questions."""
    sha256: str

    @property
    def label(self) -> str:
        return f"{self.source} {self.version}".strip()


@dataclass
class EndpointRecord:
    """The system an endpoint plan probed, and what was sent to it."""

    url: str
    api: str
    model: str | None
    requests: int
    """Requests sent, retries included."""
    sources: list[ProbeSource]


@dataclass
class Evaluation:
    plan_name: str
    audit: str
    task: str
    """The model's task, or ``endpoint`` for an endpoint plan."""
    rows: int
    """Evaluation rows, or the probes sent to an endpoint."""
    model_inputs: list[str]
    inputs_from_signature: bool
    confidence: float
    bootstrap_samples: int
    fingerprints: Fingerprints
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    endpoint: EndpointRecord | None = None
    plots: dict[str, bytes] = field(default_factory=dict, repr=False)
    """PNG images by file name (not part of the JSON: logged as artifacts and embedded in the report)."""
    transcripts: dict[str, str] = field(default_factory=dict, repr=False)
    """JSON lines of every exchange, by check id (not part of the JSON: logged as ``transcripts/<check>.jsonl``)."""

    @property
    def verdict(self) -> Verdict:
        return "pass" if all(check.verdict == "pass" for check in self.checks) else "fail"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("plots")
        data.pop("transcripts")
        return {"schema": SCHEMA, "verdict": self.verdict, **data}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evaluation:
        body = {key: value for key, value in data.items() if key not in ("schema", "verdict")}
        body["fingerprints"] = Fingerprints(**body["fingerprints"])
        body["checks"] = [CheckResult(**check) for check in body["checks"]]
        if body.get("endpoint") is not None:
            endpoint = dict(body["endpoint"])
            endpoint["sources"] = [ProbeSource(**source) for source in endpoint["sources"]]
            body["endpoint"] = EndpointRecord(**endpoint)
        return cls(**body)


class IncompleteEndpointRunError(AilabError):
    """An endpoint run stopped partway: the cause's one line and exit code, with the exchanges made until then.

    Raised through the open MLflow run, which logs ``transcripts`` before it ends FAILED: the
    evidence of what the system answered before it failed is kept like that of a finished run.
    """

    def __init__(self, cause: AilabError, requests: int, exchanges: int, transcripts: dict[str, str]) -> None:
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        super().__init__(
            f"{reason} ({requests} requests sent before the run stopped; the {exchanges} exchanges completed are kept "
            "in the run's transcripts)"
        )
        self.exit_code = cause.exit_code
        self.transcripts = transcripts


def run_summary(evaluation: Evaluation, run_id: str | None, tracking_uri: str | None) -> dict[str, Any]:
    """The document ``ailab eval run --json FILE`` writes (documented in docs/eval-checks.md)."""
    return {
        "schema": RUN_JSON_SCHEMA,
        "verdict": evaluation.verdict,
        "mlflow_run_id": run_id,
        "tracking_uri": tracking_uri,
        "checks": [check.summary() for check in evaluation.checks],
    }
