"""Robustness checks: perturbation sweeps (noise, category flips, blanks) and black-box evasion (IBM ART HopSkipJump).

A sweep's value is the drop of the chosen metric from the unperturbed to the perturbed input,
paired on the same bootstrap resamples. Evasion attacks a bounded sample of correctly decided
rows in standardised feature space and counts an attack as successful only when it flips the
decision with a change of at most ``scale`` (root-mean-square, in standard deviations).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailab.eval.catalogue import BY_ID, Direction
from ailab.eval.measure import Context, Measured
from ailab.eval.performance import measure as measure_metric
from ailab.eval.performance import metric_function
from ailab.eval.plan import RobustnessCheck
from ailab.eval.stats import wilson

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CATEGORIES = 20
"""A numeric input with at most this many distinct values counts as categorical for flips."""
HSJ_MAX_ITER = 5
HSJ_MAX_EVAL = 100
HSJ_INIT_EVAL = 10


def measure(context: Context, check: RobustnessCheck) -> Measured:
    if check.perturbation == "evasion":
        return _evasion(context, check)
    return _sweep(context, check)


def _columns(context: Context, check: RobustnessCheck) -> list[str]:
    import pandas as pd

    inputs = context.model.input_columns
    if check.columns:
        return [column for column in check.columns if column in inputs]
    frame = context.frame
    if check.perturbation == "gaussian_noise":
        return [c for c in inputs if pd.api.types.is_float_dtype(frame[c]) and frame[c].nunique() > MAX_CATEGORIES]
    if check.perturbation == "category_flip":
        return [c for c in inputs if not pd.api.types.is_float_dtype(frame[c]) or frame[c].nunique() <= MAX_CATEGORIES]
    return list(inputs)


def perturb(frame: pd.DataFrame, columns: list[str], kind: str, scale: float, seed: int) -> pd.DataFrame:
    """A copy of ``frame`` with ``columns`` perturbed; the same seed gives the same perturbation."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    out = frame.copy()
    rows = len(frame)
    for column in columns:
        values = frame[column]
        if kind == "gaussian_noise":
            std = float(values.std()) or 1.0
            out[column] = values.to_numpy(dtype=np.float64) + rng.normal(0.0, scale * std, rows)
        elif kind == "category_flip":
            categories = values.dropna().unique()
            if len(categories) < 2:
                continue
            flip = rng.random(rows) < scale
            # Another category, uniformly: shift the category's index by 1..k-1.
            index = {value: position for position, value in enumerate(categories)}
            current = values.map(index).to_numpy()
            shifted = (np.nan_to_num(current, nan=0).astype(np.int64) + rng.integers(1, len(categories), rows)) % len(categories)
            replaced = values.to_numpy(copy=True, dtype=object)
            replaced[flip] = categories[shifted[flip]]
            out[column] = pd.Series(replaced, index=values.index).astype(values.dtype)
        else:
            blank = rng.random(rows) < scale
            column_values = values.astype("float64" if values.dtype.kind in "biuf" else object).to_numpy(copy=True)
            column_values[blank] = np.nan if values.dtype.kind in "biuf" else None
            out[column] = column_values
    return out


def _sweep(context: Context, check: RobustnessCheck) -> Measured:
    metric = context.plan.robustness_metric(check)
    baseline = measure_metric(context, metric)
    if baseline.value is None or baseline.statistic is None:
        return Measured(None, reason=baseline.reason)
    columns = _columns(context, check)
    if not columns:
        return Measured(None, reason=f"no model input suits {check.perturbation}; list the inputs to perturb under 'columns'")
    higher = BY_ID[metric].direction is Direction.HIGHER
    points: list[dict[str, Any]] = []
    chosen: Measured | None = None
    for scale in sorted({check.scale, *check.sweep}):
        perturbed = perturb(context.frame, columns, check.perturbation, scale, context.seed)
        try:
            predictions = context.decide(context.model.predict(perturbed))
            scores = context.model.scores(perturbed) if metric in ("roc_auc", "brier_score") else None
        except Exception as err:  # any failure of the model on perturbed input is the finding itself
            message = f"the model failed on the perturbed input: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
            points.append({"scale": scale, "value": None, "drop": None, "error": message})
            if scale == check.scale:
                chosen = Measured(None, reason=message)
            continue
        metrics = metric_function(context, metric, predictions)
        if scores is not None:
            metrics.scores = scores  # type: ignore[union-attr]  # a Binary metric set: the perturbed scores
        perturbed_statistic = metrics.metric(metric)
        base_statistic = baseline.statistic

        def drop(weights: np.ndarray, after: Any = perturbed_statistic, before: Any = base_statistic) -> float:
            return float(before(weights) - after(weights)) if higher else float(after(weights) - before(weights))

        import numpy as np

        value = drop(np.ones(len(context.y)))
        points.append({"scale": scale, "value": value_of(perturbed_statistic, len(context.y)), "drop": value})
        if scale == check.scale:
            chosen = Measured(value, drop)
    assert chosen is not None
    chosen.details = {"metric": metric, "baseline": baseline.value, "columns": columns, "sweep": points}
    return chosen


def value_of(statistic: Any, rows: int) -> float:
    import numpy as np

    return float(statistic(np.ones(rows)))


def _numeric_inputs(context: Context) -> tuple[np.ndarray | None, str]:
    import numpy as np
    import pandas as pd

    inputs = context.model.inputs(context.frame)
    text = [c for c in inputs.columns if not pd.api.types.is_numeric_dtype(inputs[c])]
    if text:
        return None, f"the attack needs numeric model inputs; these are not: {', '.join(text[:5])}"
    values = inputs.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        return None, "the attack needs complete rows; the model inputs have empty values"
    return values, ""


def _evasion(context: Context, check: RobustnessCheck) -> Measured:
    import numpy as np
    import pandas as pd
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    values, problem = _numeric_inputs(context)
    if values is None:
        return Measured(None, reason=problem)
    mean, std = values.mean(axis=0), values.std(axis=0)
    std[std == 0] = 1.0
    columns = context.model.input_columns

    def answers(z: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(z * std + mean, columns=columns)
        scores = context.model.scores(frame)
        if scores is None:
            scores = context.decide(context.model.predict(frame)).astype(np.float64)
        return np.column_stack([1.0 - scores, scores])

    rng = np.random.default_rng(context.seed)
    correct = np.flatnonzero(context.predictions == context.y)
    chosen = rng.choice(correct, size=min(check.sample, len(correct)), replace=False) if len(correct) else correct
    if len(chosen) == 0:
        return Measured(None, reason="the model decides no evaluation row correctly: nothing to attack")
    standardised = (values - mean) / std
    z = standardised[chosen]
    classifier = BlackBoxClassifier(
        answers, input_shape=(z.shape[1],), nb_classes=2, clip_values=(standardised.min(axis=0), standardised.max(axis=0))
    )
    attack = HopSkipJump(
        classifier, targeted=False, norm=2, max_iter=HSJ_MAX_ITER, max_eval=HSJ_MAX_EVAL, init_eval=HSJ_INIT_EVAL, verbose=False
    )
    np.random.seed(context.seed)  # ART draws its starting points from NumPy's global generator
    adversarial = attack.generate(x=z.astype(np.float32)).astype(np.float64)
    flipped = answers(adversarial).argmax(axis=1) != context.y[chosen]
    size = np.linalg.norm(adversarial - z, axis=1) / np.sqrt(z.shape[1])
    success = flipped & (size <= check.scale)
    rate = float(success.mean())
    details = {
        "attack": "HopSkipJump (IBM ART), black-box, L2",
        "attacked": len(chosen),
        "flipped": int(flipped.sum()),
        "successful": int(success.sum()),
        "median_change_of_flips": float(np.median(size[flipped])) if flipped.any() else None,
        "budget": check.scale,
    }
    return Measured(rate, interval=wilson(int(success.sum()), len(chosen), context.plan.bootstrap.confidence), details=details)
