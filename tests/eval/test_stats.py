"""The weighted metrics equal scikit-learn's and fairlearn's, and hand-computed values; the bootstrap behaves."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn import metrics as fm
from sklearn import metrics as sk

from ailab.eval.stats import Binary, Groups, Regression, bootstrap, interval

# 8 cases by hand: tn=2, fp=1, fn=2, tp=3.
Y = np.array([0, 0, 0, 1, 1, 1, 1, 1])
P = np.array([0, 0, 1, 0, 0, 1, 1, 1])
S = np.array([0.1, 0.4, 0.6, 0.3, 0.4, 0.8, 0.7, 0.9])
ONES = np.ones(len(Y))


def test_binary_metrics_match_hand_computed_values():
    metrics = Binary(Y, P, S)
    assert metrics.counts(ONES) == (2, 1, 2, 3)
    assert metrics.accuracy(ONES) == pytest.approx(5 / 8)
    assert metrics.balanced_accuracy(ONES) == pytest.approx((3 / 5 + 2 / 3) / 2)
    assert metrics.precision(ONES) == pytest.approx(3 / 4)
    assert metrics.recall(ONES) == pytest.approx(3 / 5)
    assert metrics.f1(ONES) == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    # 15 positive-negative pairs: 0.3 beats one negative, 0.4 beats one and ties one (a half), 0.7-0.9 beat all three.
    assert metrics.roc_auc(ONES) == pytest.approx((1 + 1.5 + 9) / 15)
    assert metrics.roc_auc(ONES) == pytest.approx(sk.roc_auc_score(Y, S))
    assert metrics.brier_score(ONES) == pytest.approx(sk.brier_score_loss(Y, S))


def test_weights_are_repetitions():
    """A weight of 2 counts a row twice: the same as duplicating it."""
    rng = np.random.default_rng(0)
    y, p, s = rng.integers(0, 2, 300), rng.integers(0, 2, 300), rng.random(300)
    w = rng.integers(0, 3, 300).astype(float)
    rows = np.repeat(np.arange(300), w.astype(int))
    metrics = Binary(y, p, s)
    assert metrics.balanced_accuracy(w) == pytest.approx(sk.balanced_accuracy_score(y[rows], p[rows]))
    assert metrics.roc_auc(w) == pytest.approx(sk.roc_auc_score(y[rows], s[rows]))
    assert metrics.f1(w) == pytest.approx(sk.f1_score(y[rows], p[rows]))


def test_regression_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=200), rng.normal(size=200)
    metrics = Regression(y, p)
    ones = np.ones(200)
    assert metrics.mae(ones) == pytest.approx(sk.mean_absolute_error(y, p))
    assert metrics.rmse(ones) == pytest.approx(np.sqrt(sk.mean_squared_error(y, p)))
    assert metrics.r2(ones) == pytest.approx(sk.r2_score(y, p))


def test_group_disparities_match_fairlearn():
    rng = np.random.default_rng(2)
    groups = rng.integers(0, 3, 1000)
    y = rng.integers(0, 2, 1000)
    p = (rng.random(1000) < 0.3 + 0.2 * groups).astype(int)
    counted = Groups(groups, 3, y, p)
    ones = np.ones(1000)
    for name, function in (
        ("demographic_parity_difference", fm.demographic_parity_difference),
        ("demographic_parity_ratio", fm.demographic_parity_ratio),
        ("equalized_odds_difference", fm.equalized_odds_difference),
        ("equal_opportunity_difference", fm.equal_opportunity_difference),
    ):
        assert counted.disparity(name, ones) == pytest.approx(function(y, p, sensitive_features=groups)), name


def test_bootstrap_interval_covers_the_value_and_narrows_with_more_rows():
    def width(rows: int) -> float:
        rng = np.random.default_rng(3)
        y = rng.integers(0, 2, rows)
        p = np.where(rng.random(rows) < 0.8, y, 1 - y)
        metrics = Binary(y, p)
        bounds = interval(bootstrap(rows, {"a": metrics.accuracy}, 200, 0)["a"], 0.95)
        assert bounds is not None and bounds.low <= metrics.accuracy(np.ones(rows)) <= bounds.high
        return bounds.high - bounds.low

    assert width(10_000) < width(400) / 3


def test_fairness_from_cells_equals_fairlearn_row_by_row(tmp_path):
    """fairness.measure hands fairlearn the confusion cells with counts as weights: same values as the rows themselves."""
    import pandas as pd

    from ailab.eval import fairness
    from ailab.eval.measure import Context
    from ailab.eval.plan import EvaluationPlan, FairnessCheck

    rng = np.random.default_rng(4)
    rows = 3000
    frame = pd.DataFrame({"sex": rng.choice(["f", "m", "x"], rows, p=[0.5, 0.49, 0.01])})
    y = rng.integers(0, 2, rows)
    p = (rng.random(rows) < np.where(frame["sex"] == "m", 0.6, 0.4)).astype(int)
    plan = EvaluationPlan.model_validate(
        {
            "apiVersion": "ailab.eu/v1",
            "kind": "EvaluationPlan",
            "metadata": {"name": "t", "audit": "t"},
            "target": {"model": "m"},
            "dataset": {"path": "t.csv", "label": "y", "sensitive_features": ["sex"]},
            "checks": [{"id": "c", "kind": "performance", "metric": "accuracy", "min": 0.1}],
        }
    )
    context = Context(plan, None, None, frame, y, p, None)  # type: ignore[arg-type]  # fairness reads neither data nor model
    reference = fm.MetricFrame(
        metrics={"selection_rate": fm.selection_rate, "true_positive_rate": fm.true_positive_rate, "count": fm.count},
        y_true=y,
        y_pred=p,
        sensitive_features=frame["sex"],
    ).by_group
    for metric, function in (
        ("demographic_parity_difference", fm.demographic_parity_difference),
        ("equalized_odds_difference", fm.equalized_odds_difference),
        ("equal_opportunity_difference", fm.equal_opportunity_difference),
    ):
        check = FairnessCheck(id="c", kind="fairness", metric=metric, sensitive_feature="sex", max=0.1)
        measured = fairness.measure(context, check)
        assert measured.value == pytest.approx(function(y, p, sensitive_features=frame["sex"]))
        for row in measured.details["groups"]:
            assert row["size"] == reference.loc[row["group"], "count"]
            assert row["selection_rate"] == pytest.approx(reference.loc[row["group"], "selection_rate"])
            assert row["true_positive_rate"] == pytest.approx(reference.loc[row["group"], "true_positive_rate"])
        assert measured.details["small_groups"] == ["x"]  # about 30 of 3000, under the default 30: flagged, kept
