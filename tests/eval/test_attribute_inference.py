"""Attribute inference on real scikit-learn models: a model that leans on a sensitive attribute gives it away in its
answers, a model whose inputs and label are independent of it does not, and a seed repeats a run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.eval.conftest import FEATURES, population, save_model, write_plan
from tests.eval.test_runner import run

from ailab.errors import BadInputError
from ailab.eval.data import load_data
from ailab.eval.plan import load_plan
from ailab.eval.report import markdown
from ailab.eval.result import Evaluation

CHECK = "  - {id: attribute-sex, kind: privacy, attack: attribute_inference, sensitive_feature: sex, max_advantage: 0.05, sample: 1000}\n"


@pytest.fixture(scope="module")
def leaking_setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rows whose label leans hard on sex (0/1, independent of the other features) and a model trained with sex."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("leaking")
    frames = []
    for seed in (11, 12):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({name: rng.normal(size=2000) for name in FEATURES})
        frame["sex"] = rng.integers(0, 2, size=2000)
        frame["approved"] = ((frame["x1"] + 2.5 * frame["sex"] + rng.normal(scale=0.5, size=2000)) > 1.25).astype(int)
        frames.append(frame)
    frames[0].to_csv(folder / "train.csv", index=False)
    frames[1].to_csv(folder / "test.csv", index=False)
    inputs = frames[0][[*FEATURES, "sex"]]
    save_model(LogisticRegression().fit(inputs, frames[0]["approved"]), folder / "model", inputs)
    return folder


def test_model_trained_on_the_attribute_leaks_it(leaking_setup: Path, tmp_path: Path):
    evaluation = run(write_plan(leaking_setup, CHECK))
    check = evaluation.checks[0]
    assert evaluation.model_inputs == [*FEATURES, "sex"]
    details = check.details
    assert details["attribute_in_model_inputs"] is True
    # The other features say nothing of sex: the baseline does no better than guessing the most common value...
    assert all(abs(accuracy - details["majority_rate"]) < 0.06 for accuracy in details["baseline_accuracy"].values())
    # ... while the decision, read with x1, gives it away.
    assert check.value is not None and check.value > 0.2, details
    assert check.verdict == "fail"
    assert check.interval is not None and check.interval[0] > 0.1
    assert set(details["advantages"]) == {"random_forest", "logistic_regression"}
    assert details["records_known"] == 500 and details["records_attacked"] == 500
    # The report renders from the run's evaluation.json alone, as `ailab eval report` reads it back.
    text = markdown(Evaluation.from_json(json.loads(json.dumps(evaluation.to_json()))))
    assert "Attribute inference" in text and "Always guessing the most common value" in text


def test_model_blind_to_the_attribute_passes(fair_setup: Path):
    check = run(write_plan(fair_setup, CHECK.replace("0.05", "0.1"))).checks[0]
    assert check.details["attribute_in_model_inputs"] is False  # sex is text in the data and no model input
    assert check.value is not None and abs(check.value) < 0.05, check.details
    assert check.verdict == "pass"
    assert check.interval is not None and check.interval[0] < 0 < check.interval[1]


def test_same_seed_same_value_other_seed_other_sample(leaking_setup: Path, tmp_path: Path):
    for name in ("train.csv", "test.csv"):
        shutil.copy(leaking_setup / name, tmp_path / name)
    shutil.copytree(leaking_setup / "model", tmp_path / "model")
    one_method = CHECK.replace("sample: 1000", "sample: 400, methods: [random_forest]")
    first, second = (run(write_plan(tmp_path, one_method)).checks[0] for _ in range(2))
    assert first.value == second.value and first.interval == second.interval
    reseeded = write_plan(tmp_path, one_method)
    reseeded.write_text(reseeded.read_text().replace("seed: 1", "seed: 2"))
    assert run(reseeded).checks[0].details != first.details


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (
            "  - {id: a, kind: privacy, attack: attribute_inference, max_advantage: 0.1}\n",
            r"plan.yaml:12: plan.checks\[0\].attack: attribute_inference guesses a sensitive feature: add sensitive_feature",
        ),
        (
            "  - {id: a, kind: privacy, attack: attribute_inference, sensitive_feature: age, max_advantage: 0.1}\n",
            r"plan.yaml:12: plan.checks\[0\].sensitive_feature: 'age' is not in dataset.sensitive_features \(sex\)",
        ),
        (
            "  - {id: a, kind: privacy, attack: membership_inference, sensitive_feature: sex, max_advantage: 0.1}\n",
            r"plan.yaml:12: plan.checks\[0\].sensitive_feature: membership inference guesses no attribute",
        ),
        (
            "  - {id: a, kind: privacy, attack: attribute_inference, sensitive_feature: sex, max_advantage: 0.1, methods: [rule_based]}\n",
            r"plan.checks\[0\].methods: 'rule_based' is not a method of attribute inference; choose from random_forest, logistic_regression",
        ),
    ],
)
def test_plan_errors_name_the_key(fair_setup: Path, tmp_path: Path, check: str, expected: str):
    with pytest.raises(BadInputError, match=expected):
        load_plan(write_plan(tmp_path, check))


def test_membership_inference_keeps_its_shape(tmp_path: Path):
    plan = load_plan(write_plan(tmp_path, "  - {id: m, kind: privacy, attack: membership_inference, max_advantage: 0.1}\n"))
    check = plan.plan.model_checks[0]
    assert check.attack_methods == ["rule_based", "black_box"] and check.sensitive_feature is None  # type: ignore[union-attr]


def test_continuous_attribute_is_refused_against_the_data(tmp_path: Path):
    frame = population(200, 5)
    frame["sex"] = np.random.default_rng(5).normal(size=200)  # a measurement, not a category
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_csv(tmp_path / "test.csv", index=False)
    plan = write_plan(tmp_path, CHECK)
    with pytest.raises(BadInputError) as caught:
        load_data(load_plan(plan))
    assert str(caught.value).startswith(f"{plan}:12: plan.checks[0].sensitive_feature: 'sex' has 200 distinct values")
    assert "name one with 2 to 20 values" in str(caught.value)


def test_attribute_too_rare_to_learn_fails_with_the_reason(fair_setup: Path, tmp_path: Path):
    train = pd.read_csv(fair_setup / "train.csv")
    train["sex"] = ["f" if row < 2 else "m" for row in range(len(train))]  # two women among 2,000 records
    train.to_csv(tmp_path / "train.csv", index=False)
    shutil.copy(fair_setup / "test.csv", tmp_path / "test.csv")
    shutil.copytree(fair_setup / "model", tmp_path / "model")
    check = run(write_plan(tmp_path, CHECK.replace("sample: 1000", "sample: 50"))).checks[0]
    assert check.value is None and check.verdict == "fail"
    assert check.reason == "the 25 training records the attackers learn from hold one value of sex; raise sample"
