"""ailab eval run --local against ailab's own real MLflow server (basic auth, NO_PERMISSIONS), and the report read back."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from tests.eval.conftest import write_plan
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.trail.log import AuditLog

pytestmark = pytest.mark.integration
runner = CliRunner()

CHECKS = (
    "  - {id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.6}\n"
    "  - {id: parity-sex, kind: fairness, metric: demographic_parity_difference, sensitive_feature: sex, max: 0.1}\n"
)


def test_run_is_logged_to_the_audit_experiment_and_reported(home: Path, fair_setup: Path, tmp_path: Path):
    from mlflow import MlflowClient

    from ailab.eval.tracking import local_tracking
    from ailab.services.mlflow import local_server
    from ailab.services.mlflow.client import MlflowAdmin, Permission

    for name in ("train.csv", "test.csv"):
        shutil.copy(fair_setup / name, tmp_path / name)
    shutil.copytree(fair_setup / "model", tmp_path / "model")
    plan = write_plan(tmp_path, CHECKS)
    result = runner.invoke(app, ["eval", "run", str(plan), "--local", "--json", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["verdict"] == "pass" and [c["id"] for c in summary["checks"]] == ["accuracy", "parity-sex"]
    assert set(summary["checks"][0]) == {"id", "kind", "metric", "value", "threshold", "verdict", "interval"}
    assert summary["checks"][1]["threshold"] == {"max": 0.1}

    # Secrets are the owner's only.
    for secret in ("admin.json", "basic_auth.ini", "auth.db", "mlflow.db", "server.log"):
        assert stat.S_IMODE((home / "mlflow" / secret).stat().st_mode) == 0o600, secret

    tracking = local_tracking()
    admin = local_server.admin_credentials()
    with MlflowAdmin(tracking.url, admin.username, admin.password) as client:
        experiment = client.get_experiment_by_name("audit/2026-001-test")
        assert experiment is not None
        assert client.permissions(experiment.experiment_id) == {tracking.username: Permission.MANAGE}

    import os

    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = tracking.username, tracking.password
    try:
        run = MlflowClient(tracking.url).get_run(summary["mlflow_run_id"])
    finally:
        del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
    assert run.info.status == "FINISHED" and run.info.experiment_id == experiment.experiment_id
    assert len(run.data.params["plan_sha256"]) == 64 and len(run.data.params["dataset_sha256"]) == 64
    assert run.data.params["model_uri"].endswith("model") and run.data.params["ailab_version"]
    assert run.data.tags["ailab.verdict.parity-sex"] == "pass" and run.data.tags["ailab.verdict"] == "pass"
    assert run.data.metrics["accuracy"] == pytest.approx(summary["checks"][0]["value"])

    # The audit log has the run: plan hash -> verdicts -> run id.
    log = list(AuditLog().records())
    entry = log[-1]
    assert entry["action"] == "eval.run" and entry["arguments"]["mlflow_run_id"] == summary["mlflow_run_id"]
    assert entry["verdict"]["checks"] == {"accuracy": "pass", "parity-sex": "pass"}

    reports = tmp_path / "reports"
    result = runner.invoke(
        app, ["eval", "report", summary["mlflow_run_id"], "--format", "html,md,json", "--output", str(reports)]
    )
    assert result.exit_code == 0, result.output
    page = (reports / "eval-test-plan.html").read_text()
    assert "Overall verdict: PASS" in page and "data:image/png;base64," in page
    assert (reports / "plot-parity-sex.png").exists() and "![parity-sex](plot-parity-sex.png)" in (
        reports / "eval-test-plan.md"
    ).read_text()


def test_failing_check_exits_1_and_a_broken_model_ends_the_run_failed(home: Path, fair_setup: Path, tmp_path: Path):
    from mlflow import MlflowClient

    from ailab.eval.tracking import local_tracking

    for name in ("train.csv", "test.csv"):
        shutil.copy(fair_setup / name, tmp_path / name)
    shutil.copytree(fair_setup / "model", tmp_path / "model")
    strict = write_plan(tmp_path, "  - {id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.99}\n")
    result = runner.invoke(app, ["eval", "run", str(strict), "--local", "--json", "-"])
    assert result.exit_code == 1, result.output
    # stdout carries the JSON alone: the table and MLflow's own run links go to stderr.
    assert json.loads(result.stdout)["verdict"] == "fail"

    (tmp_path / "model" / "MLmodel").write_text("not: [an mlflow model\n")
    result = runner.invoke(app, ["eval", "run", str(strict), "--local"])
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    tracking = local_tracking()
    import os

    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = tracking.username, tracking.password
    try:
        client = MlflowClient(tracking.url)
        experiment = client.get_experiment_by_name("audit/2026-001-test")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    finally:
        del os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]
    assert runs[0].info.status == "FAILED" and runs[0].data.tags["ailab.failure"]


def test_bad_plan_never_starts_a_run(home: Path, tmp_path: Path):
    plan = write_plan(tmp_path, "  - {id: a, kind: performance, metric: accuracy, max: 0.5}\n")
    result = runner.invoke(app, ["eval", "run", str(plan), "--local"])
    assert result.exit_code == 2 and "better when higher" in result.output
    assert runner.invoke(app, ["lab", "local", "status"]).exit_code == 0
