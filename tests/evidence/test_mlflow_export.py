"""The MLflow part of a bundle, against a real `mlflow server` on 127.0.0.1 that proxies artifacts."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.mlflow_process import clean_environment, free_port, running_server

from ailab.evidence.bundle import build, check
from ailab.evidence.mlflow_export import export_runs
from ailab.trail import AuditLog

pytestmark = pytest.mark.integration
AUDIT = "2026-017-chatbot"
REPORT = b'{"demographic_parity_difference": 0.031}\n'


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    arguments = ["server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    arguments += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts")]
    env = {**clean_environment(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running_server(arguments, env, port, root / "server.log") as (url, _):
        api = httpx.Client(base_url=url, timeout=30)
        experiment = api.post("/api/2.0/mlflow/experiments/create", json={"name": f"audit/{AUDIT}"}).json()["experiment_id"]
        run = api.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment, "run_name": "fairness"}).json()["run"][
            "info"
        ]
        api.post(
            "/api/2.0/mlflow/runs/log-batch",
            json={
                "run_id": run["run_id"],
                "params": [{"key": "model", "value": "chatbot-v3"}],
                "metrics": [{"key": "demographic_parity_difference", "value": 0.031, "timestamp": 1, "step": 0}],
            },
        ).raise_for_status()
        location = run["artifact_uri"].removeprefix("mlflow-artifacts:").strip("/")
        api.put(f"/api/2.0/mlflow-artifacts/artifacts/{location}/reports/fairness.json", content=REPORT).raise_for_status()
        yield url


def test_runs_are_exported_with_artifact_hashes_and_bundled(mlflow_url: str, tmp_path: Path) -> None:
    exported = export_runs(mlflow_url, f"audit/{AUDIT}", "reviewer", "unused")
    (run,) = exported["runs"]
    assert run["params"] == {"model": "chatbot-v3"} and run["metrics"] == {"demographic_parity_difference": 0.031}
    assert run["artifacts"] == [
        {"path": "reports/fairness.json", "size": len(REPORT), "sha256": "sha256:" + hashlib.sha256(REPORT).hexdigest()}
    ]
    log = AuditLog()
    log.append("eval.run", audit_id=AUDIT, arguments={}, outcome="ok")
    build(AUDIT, tmp_path / "b.zip", log, mlflow_runs=exported)
    assert check(tmp_path / "b.zip", log.signer.public_key()).records == 2
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        runs = json.loads(archive.read(f"ailab-evidence-{AUDIT}/data/mlflow/runs.json"))
        oscal = json.loads(archive.read(f"ailab-evidence-{AUDIT}/data/oscal/assessment-results.json"))
    assert runs == exported
    titles = [o["title"] for o in oscal["assessment-results"]["results"][0]["observations"]]
    assert "MLflow run fairness" in titles


def test_a_missing_experiment_is_bad_input(mlflow_url: str) -> None:
    from ailab.errors import BadInputError

    with pytest.raises(BadInputError, match="no experiment 'audit/2026-404-none'"):
        export_runs(mlflow_url, "audit/2026-404-none", "reviewer", "unused")
