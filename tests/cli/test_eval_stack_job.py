"""``ailab eval run-in-job``, the Job's entry point, against a real MLflow server (ailab's local one).

In the cluster the Job gets the in-cluster MLflow URL and a team member's login in its environment,
and an experiment ``audit/<id>`` the sandbox made; here ailab's local server plays that part. An
endpoint plan's system under audit is the loopback assistant of ``tests/eval/chatbot_server.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.eval.chatbot_server import chatbot_server
from tests.eval.conftest import fair_setup, write_plan  # noqa: F401  (fair_setup: the fixture, made known here)
from tests.eval.test_endpoint_run import KEY, plan_for
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


@pytest.fixture(scope="module")
def assistant() -> Iterator[str]:
    """The loopback assistant, asking for the audit's key as the system under audit would."""
    with chatbot_server(required_key=KEY) as url:
        yield url


def run_endpoint_job(member: dict[str, str], plan: Path, result_file: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in member.items():
        monkeypatch.setenv(name, value)
    return runner.invoke(app, ["eval", "run-in-job", str(plan), "--result", str(result_file)])


def runs(member: dict[str, str]) -> list[Any]:
    """The audit experiment's runs, newest first."""
    from mlflow import MlflowClient

    client = MlflowClient(member["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("audit/2026-001-test")
    return list(client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"]))


def last_run(member: dict[str, str]) -> Any:
    return runs(member)[0]


def test_an_endpoint_plan_runs_in_the_job_with_transcripts_and_no_key(
    member: dict[str, str], assistant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("AUDITED_API_KEY", KEY)  # as the Job's Secret puts it in the container's environment
    result_file = tmp_path / "termination-log"
    result = run_endpoint_job(member, plan_for(tmp_path, assistant, "safe"), result_file, monkeypatch)
    assert result.exit_code == 0, result.output
    text = result_file.read_text(encoding="utf-8")
    summary = json.loads(text)
    assert summary["verdict"] == "pass" and len(text.encode()) <= TERMINATION_MESSAGE_BYTES
    assert [(c["id"], c["verdict"]) for c in summary["checks"]] == [
        ("injection", "pass"),
        ("leak", "pass"),
        ("pii", "pass"),
        ("qa", "pass"),
    ]
    client = MlflowClient(member["MLFLOW_TRACKING_URI"])
    run = client.get_run(summary["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.params["endpoint_url"] == assistant
    folder = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "artifacts")))
    assert {path.name for path in (folder / "transcripts").iterdir()} == {
        f"{c}.jsonl" for c in ("injection", "leak", "pii", "qa")
    }
    assert not any(KEY in path.read_text(errors="replace") for path in folder.rglob("*") if path.is_file())
    assert KEY not in text and KEY not in result.output and "assistant: PASS" in result.output


def test_an_unreachable_endpoint_fails_the_job_and_its_run(
    member: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AUDITED_API_KEY", KEY)
    result_file = tmp_path / "termination-log"
    result = run_endpoint_job(member, plan_for(tmp_path, f"http://127.0.0.1:{port}/v1", "safe"), result_file, monkeypatch)
    assert result.exit_code == 3, result.output
    assert "unreachable" in json.loads(result_file.read_text(encoding="utf-8"))["error"]
    run = last_run(member)
    assert run.info.status == "FAILED" and "unreachable" in run.data.tags["ailab.failure"]


def test_a_refused_key_fails_the_job_and_its_run(
    member: dict[str, str], assistant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITED_API_KEY", "sk-wrong")
    result_file = tmp_path / "termination-log"
    result = run_endpoint_job(member, plan_for(tmp_path, assistant, "safe"), result_file, monkeypatch)
    assert result.exit_code == 2, result.output
    error = json.loads(result_file.read_text(encoding="utf-8"))["error"]
    assert "refused the key (401)" in error and "sk-wrong" not in error
    run = last_run(member)
    assert run.info.status == "FAILED" and "refused the key" in run.data.tags["ailab.failure"]


def test_an_unset_key_fails_the_job_before_any_run(
    member: dict[str, str], assistant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDITED_API_KEY", raising=False)
    for name, value in member.items():
        monkeypatch.setenv(name, value)
    # Whichever tests ran before (or none, when this one runs alone): the same runs after as before.
    before = [run.info.run_id for run in runs(member)]
    result_file = tmp_path / "termination-log"
    result = run_endpoint_job(member, plan_for(tmp_path, assistant, "safe"), result_file, monkeypatch)
    assert result.exit_code == 3, result.output
    assert "AUDITED_API_KEY is not set" in json.loads(result_file.read_text(encoding="utf-8"))["error"]
    assert [run.info.run_id for run in runs(member)] == before  # nothing was recorded
