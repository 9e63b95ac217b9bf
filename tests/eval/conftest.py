"""Data and models for the evaluation tests: generated rows, real scikit-learn models saved as MLflow model directories."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

FEATURES = ["x1", "x2", "x3"]


def population(rows: int, seed: int) -> pd.DataFrame:
    """Three numeric features, a sex column independent of them, and a label driven by x1 and x2 with noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in FEATURES})
    frame["sex"] = rng.choice(["f", "m"], size=rows)
    frame["approved"] = ((frame["x1"] + 0.5 * frame["x2"] + rng.normal(scale=0.7, size=rows)) > 0).astype(int)
    return frame


def save_model(model: object, directory: Path, inputs: pd.DataFrame, *, signature: bool = True) -> Path:
    import mlflow
    from mlflow.models import infer_signature

    mlflow.sklearn.save_model(
        model,
        str(directory),
        signature=infer_signature(inputs, model.predict(inputs)) if signature else None,  # type: ignore[attr-defined]
        serialization_format="cloudpickle",
    )
    return directory


def write_plan(folder: Path, checks: str, *, model: str = "model", train: bool = True, extra_dataset: str = "") -> Path:
    train_line = "  train_path: train.csv\n" if train else ""
    text = (
        "apiVersion: ailab.eu/v1\nkind: EvaluationPlan\n"
        "metadata: {name: test-plan, audit: 2026-001-test}\n"
        f"target: {{model: {model}}}\n"
        "dataset:\n  path: test.csv\n  label: approved\n  sensitive_features: [sex]\n"
        f"{train_line}{extra_dataset}"
        "bootstrap: {samples: 100, seed: 1}\n"
        f"checks:\n{checks}"
    )
    path = folder / "plan.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def fair_setup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with train.csv, test.csv and a logistic regression that never sees sex (model/)."""
    from sklearn.linear_model import LogisticRegression

    folder = tmp_path_factory.mktemp("fair")
    train, test = population(2000, 1), population(2000, 2)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    model = LogisticRegression().fit(train[FEATURES], train["approved"])
    save_model(model, folder / "model", train[FEATURES])
    return folder


@pytest.fixture(scope="session")
def biased_model(fair_setup: Path) -> Path:
    """A model that approves men far more often: it sees sex (as 0/1) and leans on it."""
    from sklearn.linear_model import LogisticRegression

    train = pd.read_csv(fair_setup / "train.csv")
    inputs = train[FEATURES].assign(male=(train["sex"] == "m").astype(int))
    skewed = train["approved"] | ((train["sex"] == "m") & (np.random.default_rng(3).random(len(train)) < 0.6))
    model = LogisticRegression().fit(inputs, skewed.astype(int))
    for name in ("train.csv", "test.csv"):
        frame = pd.read_csv(fair_setup / name)
        frame.assign(male=(frame["sex"] == "m").astype(int)).to_csv(fair_setup / f"biased-{name}", index=False)
    return save_model(model, fair_setup / "biased-model", inputs)


@pytest.fixture(scope="session")
def overfitted_model(fair_setup: Path) -> Path:
    """A fully grown decision tree on 300 noisy rows: it remembers its training rows."""
    from sklearn.tree import DecisionTreeClassifier

    train = pd.read_csv(fair_setup / "train.csv").head(300)
    model = DecisionTreeClassifier(random_state=0).fit(train[FEATURES], train["approved"])
    train.to_csv(fair_setup / "small-train.csv", index=False)
    return save_model(model, fair_setup / "overfitted-model", train[FEATURES])


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An AILAB_HOME of its own with ailab's local MLflow server up in it (skips, with the reason, where MLflow is missing)."""
    from tests.mlflow_process import mlflow_executable
    from typer.testing import CliRunner

    from ailab.cli.app import app

    mlflow_executable()
    folder = tmp_path_factory.mktemp("ailab-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("AILAB_HOME", str(folder))
    runner = CliRunner()
    result = runner.invoke(app, ["lab", "local", "up"])
    assert result.exit_code == 0, result.output
    try:
        yield folder
    finally:
        runner.invoke(app, ["lab", "local", "down"])
        patch.undo()
