"""``ailab eval run-in-job``, the Job's entry point, against a real MLflow server (ailab's local one).

In the cluster the Job gets the in-cluster MLflow URL and a team member's login in its environment,
and an experiment ``audit/<id>`` the sandbox made; here ailab's local server plays that part.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.eval.conftest import fair_setup, write_plan  # noqa: F401  (fair_setup: the fixture, made known here)
from tests.mlflow_process import mlflow_executable
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.cli.eval import TERMINATION_MESSAGE_BYTES

pytestmark = pytest.mark.integration
runner = CliRunner()
CHECKS = "  - {id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.6}\n"


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Job's environment: the server's URL and a member of audit/2026-001-test (its experiment made beforehand)."""
    mlflow_executable()  # skips, with the reason, where the server is not installed
    from ailab.eval.tracking import audit_experiment, local_tracking

    patch = pytest.MonkeyPatch()
    patch.setenv("AILAB_HOME", str(tmp_path_factory.mktemp("ailab-home")))
    assert runner.invoke(app, ["lab", "local", "up"]).exit_code == 0
    try:
        tracking = local_tracking()
        audit_experiment(tracking, "2026-001-test")
        yield {
            "MLFLOW_TRACKING_URI": tracking.url,
            "MLFLOW_TRACKING_USERNAME": tracking.username,
            "MLFLOW_TRACKING_PASSWORD": tracking.password,
        }
    finally:
        runner.invoke(app, ["lab", "local", "down"])
        patch.undo()


def mounted_plan(folder: Path, request: pytest.FixtureRequest, audit: str = "2026-001-test") -> Path:
    """The plan, its data and the model (a local directory here: the CLI's --stack path refuses those, not the Job)."""
    setup: Path = request.getfixturevalue("fair_setup")
    for name in ("train.csv", "test.csv"):
        shutil.copy(setup / name, folder / name)
    shutil.copytree(setup / "model", folder / "model")
    plan = write_plan(folder, CHECKS)
    plan.write_text(plan.read_text().replace("2026-001-test", audit))
    return plan


def test_the_job_records_the_run_and_writes_the_result(
    member: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    for name, value in member.items():
        monkeypatch.setenv(name, value)
    result_file = tmp_path / "termination-log"
    result = runner.invoke(app, ["eval", "run-in-job", str(mounted_plan(tmp_path, request)), "--result", str(result_file)])
    assert result.exit_code == 0, result.output
    text = result_file.read_text(encoding="utf-8")
    assert len(text.encode()) <= TERMINATION_MESSAGE_BYTES
    summary = json.loads(text)
    assert summary["schema"] == "ailab.eu/eval-run/v1" and summary["verdict"] == "pass"
    assert summary["tracking_uri"] == member["MLFLOW_TRACKING_URI"] and [c["id"] for c in summary["checks"]] == ["accuracy"]
    run = MlflowClient(member["MLFLOW_TRACKING_URI"]).get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["ailab.verdict"] == "pass"
    assert "test-plan: PASS" in result.output


def test_the_job_never_creates_an_experiment(
    member: dict[str, str], request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in member.items():
        monkeypatch.setenv(name, value)
    result_file = tmp_path / "termination-log"
    plan = mounted_plan(tmp_path, request, audit="2026-999-nobody")
    result = runner.invoke(app, ["eval", "run-in-job", str(plan), "--result", str(result_file)])
    assert result.exit_code == 1, result.output
    error = json.loads(result_file.read_text(encoding="utf-8"))["error"]
    assert "has no experiment audit/2026-999-nobody" in error and "is the audit's sandbox ready" in error
