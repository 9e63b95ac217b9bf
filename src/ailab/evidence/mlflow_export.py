"""The audit's MLflow runs as evidence: params, metrics, tags and the SHA-256 of every artifact.

Read through ailab's MLflow transport (basic auth, retries, one-line errors): the experiment by
name, its runs (``runs/search``, paged), each run's artifact tree (``artifacts/list``), and each
artifact's bytes through the tracking server's artifact proxy, hashed and never kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ailab.errors import BadInputError, OperationFailedError

RUNS_SEARCH = "/api/2.0/mlflow/runs/search"
ARTIFACTS_LIST = "/api/2.0/mlflow/artifacts/list"
GET_BY_NAME = "/api/2.0/mlflow/experiments/get-by-name"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
MAX_RUNS = 10_000
MAX_ARTIFACTS = 10_000


def export_runs(tracking_uri: str, experiment: str, username: str, password: str) -> dict[str, Any]:
    import httpx

    from ailab.services.mlflow.transport import MlflowTransport

    http = MlflowTransport(tracking_uri, username, password)
    # The transport speaks JSON; artifact bytes are streamed with the same credentials.
    raw = httpx.Client(base_url=http.base_url, auth=(username, password), timeout=60)
    try:
        found = http.request("GET", GET_BY_NAME, params={"experiment_name": experiment}, tolerate={"RESOURCE_DOES_NOT_EXIST"})
        if found is None:
            raise BadInputError(f"MLflow {tracking_uri}: no experiment {experiment!r}; check --tracking-uri and the audit id")
        experiment_id = str(found["experiment"]["experiment_id"])
        runs = [_run(http, raw, run) for run in _search(http, experiment_id)]
    finally:
        http.close()
        raw.close()
    return {"tracking_uri": tracking_uri, "experiment": experiment, "experiment_id": experiment_id, "runs": runs}


def _search(http: Any, experiment_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    token = None
    while len(runs) < MAX_RUNS:
        body = {"experiment_ids": [experiment_id], "max_results": 1000, **({"page_token": token} if token else {})}
        page = http.request("POST", RUNS_SEARCH, json=body) or {}
        runs += page.get("runs", [])
        token = page.get("next_page_token")
        if not token:
            return runs
    raise OperationFailedError(f"MLflow experiment {experiment_id}: more than {MAX_RUNS} runs; bundle fewer")


def _run(http: Any, raw: Any, run: dict[str, Any]) -> dict[str, Any]:
    info, data = run["info"], run.get("data", {})
    return {
        "run_id": info["run_id"],
        "run_name": info.get("run_name"),
        "status": info.get("status"),
        "start_time": info.get("start_time"),
        "end_time": info.get("end_time"),
        "params": {p["key"]: p.get("value") for p in data.get("params", [])},
        "metrics": {m["key"]: m.get("value") for m in data.get("metrics", [])},
        "tags": {t["key"]: t.get("value") for t in data.get("tags", []) if not t["key"].startswith("mlflow.log-model")},
        "artifacts": _artifacts(http, raw, info["run_id"], info.get("artifact_uri", "")),
    }


def _artifacts(http: Any, raw: Any, run_id: str, artifact_uri: str) -> list[dict[str, Any]]:
    """Every artifact file with its size and SHA-256 (only for artifacts the server proxies)."""
    found: list[dict[str, Any]] = []
    folders = [""]
    while folders and len(found) < MAX_ARTIFACTS:
        folder = folders.pop()
        listing = http.request("GET", ARTIFACTS_LIST, params={"run_id": run_id, "path": folder}) or {}
        for item in listing.get("files", []):
            if item.get("is_dir"):
                folders.append(item["path"])
            else:
                size = int(item.get("file_size", 0))
                found.append({"path": item["path"], "size": size, "sha256": _digest(raw, artifact_uri, item["path"])})
    return sorted(found, key=lambda a: a["path"])


def _digest(raw: Any, artifact_uri: str, path: str) -> str | None:
    """SHA-256 of an artifact served by the tracking server's proxy (``mlflow-artifacts:/...``); None otherwise."""
    import httpx

    if not artifact_uri.startswith("mlflow-artifacts:"):
        return None
    location = artifact_uri.removeprefix("mlflow-artifacts:").strip("/")
    digest = hashlib.sha256()
    try:
        with raw.stream("GET", f"{PROXY}/{location}/{path}") as response:
            if response.status_code != 200:
                raise OperationFailedError(f"MLflow artifact {path}: the server answered HTTP {response.status_code}")
            for chunk in response.iter_bytes():
                digest.update(chunk)
    except httpx.HTTPError as error:
        raise OperationFailedError(f"MLflow artifact {path}: download failed ({error})") from None
    return "sha256:" + digest.hexdigest()
