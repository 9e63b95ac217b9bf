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
    disparity = {
        "demographic_parity_difference": fm.demographic_parity_difference,
        "demographic_parity_ratio": fm.demographic_parity_ratio,
        "equalized_odds_difference": fm.equalized_odds_difference,
        "equal_opportunity_difference": fm.equal_opportunity_difference,
    }[check.metric]
    value = float(disparity(context.y, context.predictions, sensitive_features=column))
    frame = fm.MetricFrame(
        metrics={
            "size": fm.count,
            "selection_rate": fm.selection_rate,
            "true_positive_rate": fm.true_positive_rate,
            "false_positive_rate": fm.false_positive_rate,
            "accuracy": _accuracy,
        },
        y_true=context.y,
        y_pred=context.predictions,
        sensitive_features=column.rename(check.sensitive_feature),
    )
    table = frame.by_group
    rows: list[dict[str, Any]] = []
    for name in names:
        size = int(table.loc[name, "size"])
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


def _accuracy(y_true: Any, y_pred: Any) -> float:
    import numpy as np

    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _number(value: Any) -> float | None:
    import math

    number = float(value)
    return None if math.isnan(number) else number
