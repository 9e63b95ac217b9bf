"""Performance checks: accuracy and its kin for a classifier, errors and R² for a regression."""

from __future__ import annotations

from ailab.eval.catalogue import Task
from ailab.eval.measure import Context, Measured
from ailab.eval.stats import Binary, Regression

SCORE_METRICS = frozenset({"roc_auc", "brier_score"})


def metric_function(context: Context, name: str, predictions: object = None) -> Binary | Regression:
    """The metric set over the evaluation labels and ``predictions`` (default: the model's unperturbed ones)."""
    import numpy as np

    p = context.predictions if predictions is None else np.asarray(predictions)
    if context.plan.target.task is Task.REGRESSION:
        return Regression(context.y, p)
    return Binary(context.y, p, context.scores if name in SCORE_METRICS else None)


def measure(context: Context, metric: str) -> Measured:
    import numpy as np

    if metric in SCORE_METRICS and context.scores is None:
        return Measured(None, reason=f"{metric} needs probabilities, and the model ({context.model.flavor}) gives decisions only")
    statistic = metric_function(context, metric).metric(metric)
    value = statistic(np.ones(len(context.y)))
    return Measured(value, statistic)
