"""Train the demo model on scikit-learn's bundled diabetes data (no download) and register it in ailab's local MLflow.

Writes examples/eval/data/diabetes-{train,test}.csv (sex as f/m, the target binarised at its median) and registers
a logistic regression, which never sees sex, as ``models:/ailab-demo-diabetes`` under the current user.
Run by ``make demo`` after ``ailab lab local up``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ailab.eval.tracking import audit_experiment, client_environment, local_tracking

HERE = Path(__file__).resolve().parent
AUDIT = "2026-042-chatbot"
MODEL_NAME = "ailab-demo-diabetes"


def main() -> None:
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = os.environ["DO_NOT_TRACK"] = "true"
    import mlflow
    from mlflow.models import infer_signature
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = np.where(frame["sex"] == 1, "f", "m")
    frame["high_progression"] = (frame["target"] > frame["target"].median()).astype(int)
    frame = frame.drop(columns="target")
    order = np.random.default_rng(42).permutation(len(frame))
    train, test = frame.iloc[order[:300]], frame.iloc[order[300:]]
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    train.to_csv(data / "diabetes-train.csv", index=False)
    test.to_csv(data / "diabetes-test.csv", index=False)

    features = [column for column in frame.columns if column not in ("sex", "high_progression")]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train[features], train["high_progression"])
    tracking = local_tracking()
    experiment_id = audit_experiment(tracking, AUDIT)
    with client_environment(tracking), mlflow.start_run(experiment_id=experiment_id, run_name="train-demo-model"):
        mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(train[features], model.predict(train[features])),
            registered_model_name=MODEL_NAME,
        )
    print(f"registered models:/{MODEL_NAME} in {tracking.url}")


if __name__ == "__main__":
    main()
