"""Fairness checks (fairlearn): per-group rates with sizes and intervals, and the disparity the plan thresholds.

The disparity's value is fairlearn's own; its interval, and those of the per-group rates, come
from the shared bootstrap over per-group confusion counts. Groups smaller than the check's
``min_group_size`` are kept and flagged: dropping them would hide exactly the people at risk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ailab.eval.measure import Context, Measured
from ailab.eval.plan import FairnessCheck
from ailab.eval.stats import Groups, interval

if TYPE_CHECKING:
    import numpy as np

RATES = ("selection_rate", "true_positive_rate", "false_positive_rate", "accuracy")
MISSING = "(missing)"


def measure(context: Context, check: FairnessCheck) -> Measured:
    import fairlearn.metrics as fm
    import numpy as np
    import pandas as pd

    column = context.frame[check.sensitive_feature].astype("string").fillna(MISSING)
    codes, names = pd.factorize(column, sort=True)
    groups = Groups(codes, len(names), context.y, context.predictions)
    # fairlearn is handed the per-group confusion cells weighted by their counts: the same values as row by
    # row (its metrics are weighted means), at the cost of a few dozen rows instead of millions.
    counts = np.bincount(groups.cell, minlength=len(names) * 4)
    present = np.flatnonzero(counts)
    group_of = pd.Series(np.asarray(names, dtype=object)[present // 4], name=check.sensitive_feature)
    y_cell, p_cell, weight = (present // 2) % 2, present % 2, counts[present].astype(np.float64)
    disparity = {
        "demographic_parity_difference": fm.demographic_parity_difference,
        "demographic_parity_ratio": fm.demographic_parity_ratio,
        "equalized_odds_difference": fm.equalized_odds_difference,
        "equal_opportunity_difference": fm.equal_opportunity_difference,
    }[check.metric]
    value = float(disparity(y_cell, p_cell, sensitive_features=group_of, sample_weight=weight))
    functions = {
        "selection_rate": fm.selection_rate,
        "true_positive_rate": fm.true_positive_rate,
        "false_positive_rate": fm.false_positive_rate,
        "accuracy": _accuracy,
    }
    frame = fm.MetricFrame(
        metrics=functions,
        y_true=y_cell,
        y_pred=p_cell,
        sensitive_features=group_of,
        sample_params={rate: {"sample_weight": weight} for rate in functions},
    )
    table = frame.by_group
    sizes = counts.reshape(len(names), 4).sum(axis=1)
    rows: list[dict[str, Any]] = []
    for position, name in enumerate(names):
        size = int(sizes[position])
        row: dict[str, Any] = {"group": str(name), "size": size, "small": size < check.min_group_size}
        row |= {rate: _number(table.loc[name, rate]) for rate in RATES}
        rows.append(row)
    details: dict[str, Any] = {
        "sensitive_feature": check.sensitive_feature,
        "min_group_size": check.min_group_size,
        "groups": rows,
        "small_groups": [row["group"] for row in rows if row["small"]],
    }

    def per_group(weights: np.ndarray) -> np.ndarray:
        rates = groups.rates(weights)
        return np.concatenate([rates[rate] for rate in RATES])

    def finish(values: dict[str, np.ndarray]) -> None:
        found = values["groups"].reshape(len(values["groups"]), len(RATES), len(names))
        for position, row in enumerate(rows):
            row["intervals"] = {}
            for index, rate in enumerate(RATES):
                bounds = interval(found[:, index, position], context.plan.bootstrap.confidence)
                row["intervals"][rate] = bounds.as_list() if bounds else None

    return Measured(
        value,
        lambda weights: groups.disparity(check.metric, weights),
        details=details,
        extra={"groups": per_group},
        finish=finish,
    )


def _accuracy(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    import numpy as np

    return float(np.average(np.asarray(y_true) == np.asarray(y_pred), weights=sample_weight))


def _number(value: Any) -> float | None:
    import math

    number = float(value)
    return None if math.isnan(number) else number
