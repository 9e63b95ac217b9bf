"""Weighted metrics and the bootstrap that gives their intervals.

A bootstrap resample is expressed as row weights (how many times each row was drawn): every
metric here takes such weights, so one resample costs a few ``bincount`` passes over the rows
instead of copying them, and every statistic of a run shares the same resamples (paired
differences, such as a robustness drop, get their interval from the same draws). With unit
weights each function gives the ordinary, unweighted value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

Statistic = Callable[["np.ndarray"], "float | np.ndarray"]
"""A statistic (a number or a vector of numbers) of the rows under the given bootstrap weights."""


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def bootstrap(n: int, statistics: Mapping[str, Statistic], samples: int, seed: int) -> dict[str, np.ndarray]:
    """The value of each statistic on ``samples`` resamples of ``n`` rows (the same resamples for all)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    values: dict[str, list[float | np.ndarray]] = {name: [] for name in statistics}
    for _ in range(samples):
        weights = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        for name, statistic in statistics.items():
            values[name].append(statistic(weights))
    return {name: np.asarray(found, dtype=np.float64) for name, found in values.items()}


def interval(values: np.ndarray, confidence: float) -> Interval | None:
    """The percentile interval of one statistic's bootstrap values (None when no resample gave a value)."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(float(low), float(high), confidence)


def mean_interval(values: np.ndarray, samples: int, seed: int, confidence: float) -> Interval:
    """The percentile bootstrap interval of the mean of ``values`` (finite, at least one)."""
    import numpy as np

    scores = np.asarray(values, dtype=np.float64)

    def mean(weights: np.ndarray) -> float:
        return float(weights @ scores) / len(scores)

    found = interval(bootstrap(len(scores), {"mean": mean}, samples, seed)["mean"], confidence)
    assert found is not None  # the values are finite, so is every resample's mean
    return found


def wilson(successes: int, trials: int, confidence: float) -> Interval:
    """The Wilson score interval of a proportion: sound for small samples and at 0 and 1, where the normal
    approximation is not (attack success rates are often exactly 0)."""
    from statistics import NormalDist

    if trials == 0:
        return Interval(0.0, 1.0, confidence)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 and at 1 the bounds are exactly 0 and 1; floating point would otherwise miss them by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(low, high, confidence)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


class Binary:
    """Classification metrics of 0/1 labels ``y``, 0/1 decisions ``p`` and (optional) scores of class 1."""

    def __init__(self, y: np.ndarray, p: np.ndarray, scores: np.ndarray | None = None) -> None:
        import numpy as np

        self.y = y
        self.code = (y.astype(np.int8) * 2 + p.astype(np.int8)).astype(np.intp)
        self.scores = scores
        self._cached: tuple[np.ndarray, tuple[float, float, float, float]] | None = None
        if scores is not None:
            self._unique_index = np.unique(scores, return_inverse=True)[1].ravel()
            self._classes = int(self._unique_index.max()) + 1

    def counts(self, w: np.ndarray) -> tuple[float, float, float, float]:
        """Weighted (tn, fp, fn, tp); remembered for the last weights, which several metrics of one resample share."""
        import numpy as np

        if self._cached is not None and self._cached[0] is w:
            return self._cached[1]
        tn, fp, fn, tp = np.bincount(self.code, weights=w, minlength=4)
        counts = (float(tn), float(fp), float(fn), float(tp))
        self._cached = (w, counts)
        return counts

    def accuracy(self, w: np.ndarray) -> float:
        tn, fp, fn, tp = self.counts(w)
        return _ratio(tp + tn, tn + fp + fn + tp)

    def balanced_accuracy(self, w: np.ndarray) -> float:
        tn, fp, fn, tp = self.counts(w)
        return (_ratio(tp, tp + fn) + _ratio(tn, tn + fp)) / 2.0

    def precision(self, w: np.ndarray) -> float:
        _, fp, _, tp = self.counts(w)
        return _ratio(tp, tp + fp)

    def recall(self, w: np.ndarray) -> float:
        _, _, fn, tp = self.counts(w)
        return _ratio(tp, tp + fn)

    def f1(self, w: np.ndarray) -> float:
        _, fp, fn, tp = self.counts(w)
        return _ratio(2 * tp, 2 * tp + fp + fn)

    def roc_auc(self, w: np.ndarray) -> float:
        """The Mann-Whitney form: ties count one half; scores are ranked once, resamples only re-weigh them."""
        import numpy as np

        assert self.scores is not None
        positives = np.bincount(self._unique_index, weights=w * self.y, minlength=self._classes)
        negatives = np.bincount(self._unique_index, weights=w * (1 - self.y), minlength=self._classes)
        below = np.cumsum(negatives) - negatives
        return _ratio(float(np.sum(positives * (below + 0.5 * negatives))), float(positives.sum() * negatives.sum()))

    def brier_score(self, w: np.ndarray) -> float:
        import numpy as np

        assert self.scores is not None
        return _ratio(float(np.sum(w * (self.scores - self.y) ** 2)), float(w.sum()))

    def metric(self, name: str) -> Callable[[np.ndarray], float]:
        function: Callable[[np.ndarray], float] = getattr(self, name)
        return function


class Regression:
    """Regression metrics of true values ``y`` and predictions ``p``."""

    def __init__(self, y: np.ndarray, p: np.ndarray) -> None:
        self.y = y.astype("float64")
        self.error = p.astype("float64") - self.y

    def mae(self, w: np.ndarray) -> float:
        import numpy as np

        return _ratio(float(np.sum(w * np.abs(self.error))), float(w.sum()))

    def rmse(self, w: np.ndarray) -> float:
        import numpy as np

        return float(np.sqrt(_ratio(float(np.sum(w * self.error**2)), float(w.sum()))))

    def r2(self, w: np.ndarray) -> float:
        import numpy as np

        total = float(w.sum())
        mean = float(np.sum(w * self.y)) / total
        return 1.0 - _ratio(float(np.sum(w * self.error**2)), float(np.sum(w * (self.y - mean) ** 2)))

    def metric(self, name: str) -> Callable[[np.ndarray], float]:
        function: Callable[[np.ndarray], float] = getattr(self, name)
        return function


class Groups:
    """Per-group confusion counts of 0/1 labels and decisions, and the disparities fairlearn defines over them."""

    def __init__(self, codes: np.ndarray, count: int, y: np.ndarray, p: np.ndarray) -> None:
        import numpy as np

        self.count = count
        self.cell = (codes.astype(np.intp) * 4 + y.astype(np.intp) * 2 + p.astype(np.intp)).astype(np.intp)
        self._cached: tuple[np.ndarray, dict[str, np.ndarray]] | None = None

    def rates(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """Per group: size, selection rate, true- and false-positive rates, accuracy (NaN where undefined).

        Remembered for the last weights: the disparity and the per-group table of one resample share them."""
        import numpy as np

        if self._cached is not None and self._cached[0] is w:
            return self._cached[1]
        cells = np.bincount(self.cell, weights=w, minlength=self.count * 4).reshape(self.count, 2, 2)
        size = cells.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            rates = {
                "size": size,
                "selection_rate": cells[:, :, 1].sum(axis=1) / size,
                "true_positive_rate": cells[:, 1, 1] / cells[:, 1, :].sum(axis=1),
                "false_positive_rate": cells[:, 0, 1] / cells[:, 0, :].sum(axis=1),
                "accuracy": (cells[:, 0, 0] + cells[:, 1, 1]) / size,
            }
        self._cached = (w, rates)
        return rates

    def disparity(self, name: str, w: np.ndarray) -> float:
        rates = self.rates(w)
        if name == "demographic_parity_difference":
            return _spread(rates["selection_rate"])
        if name == "demographic_parity_ratio":
            return _ratio_of_extremes(rates["selection_rate"])
        if name == "equal_opportunity_difference":
            return _spread(rates["true_positive_rate"])
        if name == "equalized_odds_difference":
            return max(_spread(rates["true_positive_rate"]), _spread(rates["false_positive_rate"]))
        raise ValueError(name)


def _spread(values: np.ndarray) -> float:
    import numpy as np

    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if finite.size else float("nan")


def _ratio_of_extremes(values: np.ndarray) -> float:
    import numpy as np

    finite = values[np.isfinite(values)]
    return _ratio(float(finite.min()), float(finite.max())) if finite.size else float("nan")
