"""The runner on real scikit-learn models: a biased model fails parity and a fair one passes, an overfitted model
fails membership inference, sweeps and evasion give values, a model without a signature is reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.eval.conftest import write_plan

from ailab.eval.data import load_data
from ailab.eval.plan import load_plan
from ailab.eval.report import html, markdown
from ailab.eval.runner import evaluate
from ailab.eval.target import load_model

PARITY = "  - {id: parity-sex, kind: fairness, metric: demographic_parity_difference, sensitive_feature: sex, max: 0.1}\n"


def run(plan: Path):
    loaded = load_plan(plan)
    data = load_data(loaded)
    spec = loaded.plan
    excluded = {spec.dataset.label, *spec.dataset.sensitive_features}
    model = load_model(str(loaded.resolve(spec.target.model)), "test", list(data.test.frame.columns), excluded)
    return evaluate(loaded, data, model)


def test_fair_model_passes_parity_and_biased_model_fails(fair_setup: Path, biased_model: Path, tmp_path: Path):
    fair = run(write_plan(fair_setup, PARITY))
    assert fair.checks[0].verdict == "pass" and fair.checks[0].value is not None and fair.checks[0].value < 0.1
    assert fair.model_inputs == ["x1", "x2", "x3"]  # the signature's columns: sex is kept from the model
    for name in ("train.csv", "test.csv"):
        shutil.copy(fair_setup / f"biased-{name}", tmp_path / name)
    shutil.copytree(biased_model, tmp_path / "model")
    biased = run(write_plan(tmp_path, PARITY))
    check = biased.checks[0]
    assert check.verdict == "fail" and check.value is not None and check.value > 0.2
    assert check.interval is not None and check.interval[0] > 0.1  # the disparity is not a sampling accident
    sizes = {group["group"]: group["size"] for group in check.details["groups"]}
    assert sum(sizes.values()) == 2000 and set(sizes) == {"f", "m"}
    assert biased.verdict == "fail"


def test_overfitted_model_fails_membership_inference(fair_setup: Path, overfitted_model: Path, tmp_path: Path):
    shutil.copy(fair_setup / "small-train.csv", tmp_path / "train.csv")
    shutil.copy(fair_setup / "test.csv", tmp_path / "test.csv")
    shutil.copytree(overfitted_model, tmp_path / "model")
    membership = "  - {id: membership, kind: privacy, attack: membership_inference, max_advantage: 0.1, sample: 300}\n"
    overfitted = run(write_plan(tmp_path, membership)).checks[0]
    assert overfitted.verdict == "fail" and overfitted.value is not None and overfitted.value > 0.15
    assert overfitted.details["train_accuracy"] == 1.0
    shutil.rmtree(tmp_path / "model")
    shutil.copytree(fair_setup / "model", tmp_path / "model")
    regular = run(write_plan(tmp_path, membership)).checks[0]
    assert regular.verdict == "pass", regular


def test_robustness_sweeps_and_evasion(fair_setup: Path):
    checks = (
        "  - {id: noise, kind: robustness, perturbation: gaussian_noise, scale: 0.1, sweep: [0.5, 2.0], max_drop: 0.05}\n"
        "  - {id: blanks, kind: robustness, perturbation: missing_values, scale: 0.2, max_drop: 0.05}\n"
        "  - {id: evasion, kind: robustness, perturbation: evasion, scale: 0.5, sample: 5, max_success_rate: 0.5}\n"
    )
    evaluation = run(write_plan(fair_setup, checks))
    noise, blanks, evasion = evaluation.checks
    drops = [point["drop"] for point in noise.details["sweep"]]
    assert [point["scale"] for point in noise.details["sweep"]] == [0.1, 0.5, 2.0]
    assert drops[0] < 0.05 and drops[2] > drops[0] + 0.1  # more noise, larger drop
    assert noise.verdict == "pass" and noise.interval is not None
    # A logistic regression cannot take blanks: the check fails with the model's own reason.
    assert blanks.verdict == "fail" and blanks.value is None and "ValueError" in blanks.reason
    assert evasion.details["attacked"] == 5 and evasion.value is not None and 0.0 <= evasion.value <= 1.0
    assert evasion.interval is not None
    text = markdown(evaluation)
    assert text.startswith("# Evaluation report: test-plan\n\n**Overall verdict: FAIL**")
    assert "AI Act Art. 15(4)" in text and "the model failed on the perturbed input" in text
    page = html(evaluation)
    assert "data:image/png;base64," in page and "@media print" in page


def test_model_without_signature_gets_all_but_label_and_sensitive(fair_setup: Path, tmp_path: Path):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from tests.eval.conftest import save_model

    train = pd.read_csv(fair_setup / "train.csv")
    save_model(
        LogisticRegression().fit(train[["x1", "x2", "x3"]], train["approved"]),
        tmp_path / "model",
        train[["x1", "x2", "x3"]],
        signature=False,
    )
    shutil.copy(fair_setup / "test.csv", tmp_path / "test.csv")
    shutil.copy(fair_setup / "train.csv", tmp_path / "train.csv")
    evaluation = run(write_plan(tmp_path, "  - {id: acc, kind: performance, metric: accuracy, min: 0.7}\n"))
    assert evaluation.model_inputs == ["x1", "x2", "x3"] and not evaluation.inputs_from_signature
    assert "no signature" in evaluation.notes[0]
    assert evaluation.checks[0].verdict == "pass"


def test_missing_model_is_bad_input(fair_setup: Path, tmp_path: Path):
    from ailab.errors import BadInputError

    shutil.copy(fair_setup / "test.csv", tmp_path / "test.csv")
    shutil.copy(fair_setup / "train.csv", tmp_path / "train.csv")
    with pytest.raises(BadInputError, match="model"):
        run(write_plan(tmp_path, "  - {id: acc, kind: performance, metric: accuracy, min: 0.7}\n"))


def test_regression_task_from_parquet_with_category_flips(tmp_path: Path):
    import numpy as np
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_absolute_error
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from tests.eval.conftest import save_model

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=1500), "region": rng.choice(["north", "south", "east"], 1500)})
    frame["sex"] = rng.choice(["f", "m"], 1500)
    frame["approved"] = (
        2 * frame["x"] + frame["region"].map({"north": 0.0, "south": 3.0, "east": -3.0}) + rng.normal(scale=0.1, size=1500)
    )
    frame.to_parquet(tmp_path / "test.parquet")
    inputs = frame[["x", "region"]]
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough"), LinearRegression()
    ).fit(inputs, frame["approved"])
    save_model(model, tmp_path / "model", inputs)
    plan = write_plan(
        tmp_path,
        "  - {id: mae, kind: performance, metric: mae, max: 0.2}\n"
        "  - {id: flips, kind: robustness, perturbation: category_flip, scale: 0.3, max_drop: 0.5}\n",
        train=False,
    )
    plan.write_text(
        plan.read_text()
        .replace("path: test.csv", "path: test.parquet")
        .replace("target: {model: model}", "target: {model: model, task: regression}")
    )
    evaluation = run(plan)
    mae, flips = evaluation.checks
    assert mae.value == pytest.approx(mean_absolute_error(frame["approved"], model.predict(inputs)))
    assert mae.verdict == "pass"
    assert flips.details["columns"] == ["region"] and flips.details["metric"] == "rmse"
    # About 30% of regions swapped, each swap off by 3 or 6: the RMSE grows by well over 1, above max_drop 0.5.
    assert flips.value is not None and flips.value > 1.0 and flips.verdict == "fail"


def test_binary_metric_on_regression_plan_is_refused(tmp_path: Path):
    from ailab.errors import BadInputError

    plan = write_plan(tmp_path, "  - {id: a, kind: performance, metric: accuracy, min: 0.5}\n", train=False)
    plan.write_text(plan.read_text().replace("target: {model: model}", "target: {model: model, task: regression}"))
    with pytest.raises(BadInputError, match=r"plan.checks\[0\].metric: accuracy does not apply to regression"):
        load_plan(plan)


class _Rule:
    """A decision rule logged as a plain pyfunc model: decisions, no probabilities."""

    def predict(self, context, model_input, params=None):
        return (model_input["x1"] > 0).astype(int)


def test_pyfunc_model_without_probabilities(fair_setup: Path, tmp_path: Path):
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from mlflow.pyfunc import PythonModel

    from ailab.eval.stats import Binary

    rule = type("Rule", (PythonModel,), {"predict": _Rule.predict})()
    inputs = pd.read_csv(fair_setup / "train.csv")[["x1", "x2", "x3"]]
    mlflow.pyfunc.save_model(
        str(tmp_path / "model"), python_model=rule, signature=infer_signature(inputs, (inputs["x1"] > 0).astype(int))
    )
    for name in ("train.csv", "test.csv"):
        shutil.copy(fair_setup / name, tmp_path / name)
    evaluation = run(
        write_plan(
            tmp_path,
            "  - {id: recall, kind: performance, metric: recall, min: 0.5}\n  - {id: auc, kind: performance, metric: roc_auc, min: 0.5}\n",
        )
    )
    recall, auc = evaluation.checks
    test = pd.read_csv(tmp_path / "test.csv")
    import numpy as np

    expected = Binary(test["approved"].to_numpy(), (test["x1"] > 0).astype(int).to_numpy()).recall(np.ones(len(test)))
    assert evaluation.fingerprints.model_flavor == "python_function"
    assert recall.value == pytest.approx(expected) and recall.verdict == "pass"
    assert auc.value is None and auc.verdict == "fail" and "gives decisions only" in auc.reason
