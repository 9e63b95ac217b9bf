"""Running a plan: the model's decisions, every check's value, one shared bootstrap, and the verdicts.

The runner knows nothing of MLflow: :func:`evaluate` takes a loaded plan, its data and the
model, and returns an :class:`~ailab.eval.result.Evaluation`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ailab.eval import attribute_inference, fairness, performance, privacy, robustness
from ailab.eval.catalogue import BY_ID, Direction
from ailab.eval.measure import Context, Measured
from ailab.eval.plan import FairnessCheck, LoadedPlan, ModelCheck, PerformanceCheck, PrivacyCheck, RobustnessCheck
from ailab.eval.result import CheckResult, Evaluation, Fingerprints, Verdict, passes
from ailab.eval.stats import Statistic, bootstrap, interval

if TYPE_CHECKING:
    from ailab.eval.data import EvaluationData
    from ailab.eval.target import ModelUnderAudit


def evaluate(loaded: LoadedPlan, data: EvaluationData, model: ModelUnderAudit) -> Evaluation:
    from ailab import __version__
    from ailab.eval.plots import plots_for

    started = now()
    plan = loaded.plan
    frame = data.test.frame
    predictions = model.predict(frame)
    context = Context(plan, data, model, frame, data.y_true, predictions, model.scores(frame))
    context.predictions = context.decide(predictions)
    declared = plan.model_checks
    measured = [_measure(context, check) for check in declared]

    statistics: dict[str, Statistic] = {}
    for check, result in zip(declared, measured, strict=True):
        if result.statistic is not None:
            statistics[check.id] = result.statistic
        statistics |= {f"{check.id}/{name}": extra for name, extra in result.extra.items()}
    values = bootstrap(len(frame), statistics, plan.bootstrap.samples, plan.bootstrap.seed) if statistics else {}

    checks: list[CheckResult] = []
    for check, result in zip(declared, measured, strict=True):
        if result.statistic is not None:
            result.interval = interval(values[check.id], plan.bootstrap.confidence)
        if result.finish is not None:
            result.finish({name: values[f"{check.id}/{name}"] for name in result.extra})
        checks.append(_judge(check, result))

    notes = []
    if not model.from_signature:
        notes.append(
            "The model has no signature: it received every column but the label and the sensitive features "
            f"({', '.join(model.input_columns)})."
        )
    evaluation = Evaluation(
        plan_name=plan.metadata.name,
        audit=plan.metadata.audit,
        task=str(plan.target.task),
        rows=len(frame),
        model_inputs=list(model.input_columns),
        inputs_from_signature=model.from_signature,
        confidence=plan.bootstrap.confidence,
        bootstrap_samples=plan.bootstrap.samples,
        fingerprints=Fingerprints(
            plan_sha256=loaded.sha256,
            dataset_sha256=data.test.sha256,
            train_sha256=data.train.sha256 if data.train else None,
            model_uri=model.uri,
            model_version=model.version,
            model_flavor=model.flavor,
            ailab_version=__version__,
            lock_sha256=lock_sha256(),
        ),
        checks=checks,
        notes=notes,
        started=started,
        finished=now(),
    )
    evaluation.plots = plots_for(evaluation)
    return evaluation


def _measure(context: Context, check: ModelCheck) -> Measured:
    if isinstance(check, PerformanceCheck):
        return performance.measure(context, check.metric)
    if isinstance(check, FairnessCheck):
        return fairness.measure(context, check)
    if isinstance(check, RobustnessCheck):
        return robustness.measure(context, check)
    assert isinstance(check, PrivacyCheck)
    if check.attack == "attribute_inference":
        return attribute_inference.measure(context, check)
    return privacy.measure(context, check)


def _judge(check: ModelCheck, result: Measured) -> CheckResult:
    import math

    if isinstance(check, PerformanceCheck | FairnessCheck):
        metric, key = check.metric, BY_ID[check.metric].threshold_key
    elif isinstance(check, RobustnessCheck):
        metric, key = check.perturbation, "max_success_rate" if check.perturbation == "evasion" else "max_drop"
    else:
        metric, key = check.attack, "max_advantage"
    threshold = check.threshold
    value = result.value
    reason = result.reason
    if value is not None and math.isnan(value):
        value, reason = None, reason or "the value is undefined on this data (a group or class without cases?)"
    verdict: Verdict = "fail"
    if value is not None:
        verdict = "pass" if passes(value, threshold, key) else "fail"
    details = dict(result.details)
    if isinstance(check, PerformanceCheck | FairnessCheck):
        details.setdefault("better", "higher" if BY_ID[check.metric].direction is Direction.HIGHER else "lower")
    return CheckResult(
        id=check.id,
        kind=check.kind,
        metric=metric,
        value=value,
        threshold=threshold,
        threshold_key=key,
        verdict=verdict,
        interval=result.interval.as_list() if result.interval else None,
        reason=reason,
        details=details,
    )


def lock_sha256() -> str | None:
    """The SHA-256 of the uv.lock beside the installed source tree, when there is one (a source checkout)."""
    lock = Path(__file__).resolve().parents[3] / "uv.lock"
    try:
        return hashlib.sha256(lock.read_bytes()).hexdigest()
    except OSError:
        return None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
