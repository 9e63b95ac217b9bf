"""Evaluation runs (issue 14): the demo plan end to end, and performance + fairness checks at 10k / 100k / 1M rows.

Targets: the demo plan (all four families: train and register the model, run, report) under 60 s wall;
performance + fairness on 1,000,000 rows under 30 s and 2 GiB. Each size runs in its own child process
(``--case DIR``: read the CSV, load the model, evaluate), so wall time and peak RSS are that run's alone.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from harness import TABLE_HEADER, VENV_BIN, machine, measure

SIZES = (10_000, 100_000, 1_000_000)
CHECKS = (
    "  - {id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.6}\n"
    "  - {id: auc, kind: performance, metric: roc_auc, min: 0.6}\n"
    "  - {id: parity, kind: fairness, metric: demographic_parity_difference, sensitive_feature: group, max: 0.2}\n"
    "  - {id: odds, kind: fairness, metric: equalized_odds_difference, sensitive_feature: group, max: 0.2}\n"
)


def prepare(folder: Path, rows: int) -> None:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(8)})
    frame["group"] = rng.choice(["a", "b", "c", "d"], size=rows)
    frame["label"] = (frame["x0"] + frame["x1"] + rng.normal(size=rows) > 0).astype(int)
    frame.to_csv(folder / "test.csv", index=False)
    inputs = frame[[f"x{i}" for i in range(8)]]
    model = LogisticRegression().fit(inputs.head(10_000), frame["label"].head(10_000))
    mlflow.sklearn.save_model(
        model, str(folder / "model"), signature=infer_signature(inputs.head(100), model.predict(inputs.head(100)))
    )
    (folder / "plan.yaml").write_text(
        "apiVersion: ailab.eu/v1\nkind: EvaluationPlan\nmetadata: {name: bench, audit: bench}\ntarget: {model: model}\n"
        f"dataset: {{path: test.csv, label: label, sensitive_features: [group]}}\nchecks:\n{CHECKS}"
    )


def case(folder: Path) -> None:
    from ailab.eval.data import load_data
    from ailab.eval.plan import load_plan
    from ailab.eval.runner import evaluate
    from ailab.eval.target import load_model

    loaded = load_plan(folder / "plan.yaml")
    data = load_data(loaded)
    model = load_model(str(folder / "model"), "bench", list(data.test.frame.columns), {"label", "group"})
    evaluation = evaluate(loaded, data, model)
    assert len(evaluation.checks) == 4 and all(check.interval for check in evaluation.checks)


def main() -> int:
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = os.environ["DO_NOT_TRACK"] = "true"
    print(f"Machine: {machine()}\n")
    print(TABLE_HEADER)
    ok = True
    with tempfile.TemporaryDirectory(prefix="ailab-eval-bench-") as scratch:
        for rows in SIZES:
            folder = Path(scratch) / str(rows)
            folder.mkdir()
            prepare(folder, rows)
            result = measure([sys.executable, __file__, "--case", str(folder)], runs=3, warmup=1)
            print(result.row().replace(str(folder), f"<{rows:,} rows>"), flush=True)
            if rows == 1_000_000:
                ok &= result.median_s < 30 and result.peak_rss_mib < 2048
        env = dict(os.environ, AILAB_HOME=str(Path(scratch) / "home"))
        ailab = str(VENV_BIN / "ailab")
        measure([ailab, "lab", "local", "up"], runs=1, warmup=0, env=env)
        demo = (
            f"{VENV_BIN / 'python'} examples/eval/train_demo_model.py && "
            f"{ailab} eval run examples/eval/diabetes-plan.yaml --local --json {scratch}/run.json; [ $? -le 1 ] && "
            f'{ailab} eval report $({VENV_BIN / "python"} -c \'import json; print(json.load(open("{scratch}/run.json"))["mlflow_run_id"])\') '
            f"--format html,md,json --output {scratch}/reports"
        )
        try:
            result = measure(["bash", "-c", demo], runs=3, warmup=0, env=env)
        finally:
            measure([ailab, "lab", "local", "down"], runs=1, warmup=0, env=env)
        print(
            f"| demo plan end to end (train + register, run, report) | {result.runs} | {result.median_s:.3f} | {result.min_s:.3f} | {result.max_s:.3f} | {result.peak_rss_mib:.0f} |"
        )
        ok &= result.median_s < 60
    print("\ntargets met" if ok else "\nTARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        case(Path(sys.argv[2]))
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        sys.exit(main())
