"""What a family hands the runner for one check: a value, and the statistics the bootstrap turns into intervals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ailab.eval.stats import Interval, Statistic

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from ailab.eval.data import EvaluationData
    from ailab.eval.plan import EvaluationPlan
    from ailab.eval.target import ModelUnderAudit


@dataclass
class Context:
    """Everything the families share: the plan, the data, the model and its decisions on the unperturbed rows."""

    plan: EvaluationPlan
    data: EvaluationData
    model: ModelUnderAudit
    frame: pd.DataFrame
    y: np.ndarray
    predictions: np.ndarray
    """0/1 decisions (binary task) or predicted values (regression)."""
    scores: np.ndarray | None

    @property
    def seed(self) -> int:
        return self.plan.bootstrap.seed

    def decide(self, raw: np.ndarray) -> np.ndarray:
        return decisions(raw, self.plan.target.positive_label) if self.plan.target.task == "binary_classification" else raw

    def answers(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's answers on ``frame`` as the two class probabilities the ART attacks read: its scores, or its
        0/1 decisions for a model without probabilities."""
        import numpy as np

        scores = self.model.scores(frame)
        if scores is None:
            scores = self.decide(self.model.predict(frame)).astype(np.float64)
        return np.column_stack([1.0 - scores, scores])


def decisions(raw: np.ndarray, positive: str | int | bool) -> np.ndarray:
    """A model's output as 0/1, 1 meaning the plan's positive label."""
    import numpy as np

    wanted = {str(positive)}
    if positive == 1 and not isinstance(positive, str):
        wanted |= {"1", "True", "1.0"}
    return np.isin(np.asarray(raw).astype(str), list(wanted)).astype(np.int8)


@dataclass
class Measured:
    value: float | None
    statistic: Statistic | None = None
    """The value as a function of bootstrap weights over the evaluation rows; None when ``interval`` is given."""
    interval: Interval | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Statistic] = field(default_factory=dict)
    """Further statistics to bootstrap (per-group rates), handed to ``finish``."""
    finish: Callable[[dict[str, np.ndarray]], None] | None = None
