"""Recording an evaluation in the audit's MLflow experiment ``audit/<id>`` on ailab's local server.

The experiment is created by the admin client with the current user as its only member; the
run itself is logged with the user's own credentials. A run that fails ends FAILED with its
reason in the ``ailab.failure`` tag, never left RUNNING.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailab.errors import AilabError, BadInputError, OperationFailedError

if TYPE_CHECKING:
    from ailab.eval.plan import LoadedPlan
    from ailab.eval.result import Evaluation

EXPERIMENT_PREFIX = "audit/"
RESULT_ARTIFACT = "evaluation.json"
REQUESTS_METRIC = "endpoint/requests"
"""Requests sent to an endpoint, retries included ('/' keeps it apart from every check id)."""
TRANSCRIPTS = "transcripts"
"""Every exchange of an endpoint check, ``transcripts/<check>.jsonl`` (the API key never is in them)."""
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Tracking:
    url: str
    username: str
    password: str


def current_user() -> str:
    user = getpass.getuser()
    if not _USERNAME.match(user):
        raise BadInputError(f"login name {user!r} cannot be an MLflow user; run as a user with a plain login name")
    return user


def local_tracking() -> Tracking:
    """Start (or reuse) ailab's local server and return the current user's credentials on it (created once)."""
    from ailab.services.mlflow import local_server
    from ailab.services.mlflow.client import MlflowAdmin

    state = local_server.up()
    user = current_user()
    password = local_server.stored_user_password(user)
    if password is None:
        admin = local_server.admin_credentials()
        with MlflowAdmin(state.url, admin.username, admin.password) as client:
            password = client.ensure_user(user)
        if password is None:
            raise OperationFailedError(
                f"MLflow user {user!r} exists on {state.url} but ailab keeps no password for it; "
                "ask the lab admin to delete that user, then run again"
            )
        local_server.store_user_password(user, password)
    return Tracking(state.url, user, password)


def audit_experiment(tracking: Tracking, audit: str) -> str:
    """``audit/<audit>`` with the current user as its only member; returns its id.

    The experiment is the one ailab created and recorded on the first run, checked as the lab's
    sandboxes check theirs (:mod:`ailab.services.mlflow.ownership`): a name someone else took is
    refused, never adopted, and a renamed one is renamed back.
    """
    from ailab.services.mlflow import local_server, ownership
    from ailab.services.mlflow.client import MlflowAdmin, Permission

    name = EXPERIMENT_PREFIX + audit
    admin = local_server.admin_credentials()
    with MlflowAdmin(tracking.url, admin.username, admin.password) as client:
        recorded = local_server.recorded_experiment(name)
        if recorded is None:
            experiment = ownership.create(client, name, {"ailab.audit": audit})
            local_server.record_experiment(name, experiment.experiment_id)
        else:
            experiment, _reverted = ownership.verify(client, recorded, name, audit)
        client.set_permissions(experiment.experiment_id, {tracking.username: Permission.MANAGE})
    return experiment.experiment_id


@contextmanager
def client_environment(tracking: Tracking) -> Iterator[None]:
    """MLflow's client settings for this process (URI, the user's credentials), restored afterwards; telemetry off for good."""
    from ailab.services.mlflow.local_server import NO_TELEMETRY

    # Telemetry stays off for the rest of the process: MLflow may report from a thread or at exit.
    os.environ.update(NO_TELEMETRY)
    wanted = {
        "MLFLOW_TRACKING_URI": tracking.url,
        "MLFLOW_TRACKING_USERNAME": tracking.username,
        "MLFLOW_TRACKING_PASSWORD": tracking.password,
        # A progress bar per artifact download is noise in a CLI's stderr and in cron logs.
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class RecordedRun:
    """One MLflow run of an evaluation; use as a context manager so a failure ends it FAILED."""

    def __init__(self, tracking: Tracking, experiment_id: str, loaded: LoadedPlan) -> None:
        from mlflow import MlflowClient

        self.tracking = tracking
        self.client = MlflowClient(tracking_uri=tracking.url)
        plan = loaded.plan
        run = self.client.create_run(
            experiment_id,
            run_name=plan.metadata.name,
            tags={"ailab.audit": plan.metadata.audit, "ailab.plan": plan.metadata.name, "ailab.plan_sha256": loaded.sha256},
        )
        self.run_id: str = run.info.run_id

    def __enter__(self) -> RecordedRun:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        if error is None:
            self._terminate("FINISHED")
            return
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, AilabError):
            reason = f"{type(error).__name__}: {reason}"
        from ailab.eval.result import IncompleteEndpointRunError

        try:
            self.client.set_tag(self.run_id, "ailab.failure", reason[:4000])
            if isinstance(error, IncompleteEndpointRunError) and error.transcripts:
                with tempfile.TemporaryDirectory(prefix="ailab-eval-") as scratch:
                    self.client.log_artifacts(self.run_id, str(_write_transcripts(Path(scratch), error.transcripts)))
        finally:
            self._terminate("FAILED")

    def _terminate(self, status: str) -> None:
        # MLflow prints the run's URL on stdout when a run ends; stdout may be carrying --json -.
        with redirect_stdout(sys.stderr):
            self.client.set_terminated(self.run_id, status)

    def log(self, evaluation: Evaluation, reports: dict[str, str]) -> None:
        """Params, metrics, per-check verdict tags, and the artifacts: the result, per-group tables, plots, reports."""
        from mlflow.entities import Metric, Param, RunTag

        params = run_params(evaluation)
        stamp = 0
        metrics: list[Metric] = []
        tags = [RunTag("ailab.verdict", evaluation.verdict)]
        for check in evaluation.checks:
            tags.append(RunTag(f"ailab.verdict.{check.id}", check.verdict))
            if check.value is not None:
                metrics.append(Metric(check.id, check.value, stamp, 0))
            if check.interval is not None:
                metrics.append(Metric(f"{check.id}.low", check.interval[0], stamp, 0))
                metrics.append(Metric(f"{check.id}.high", check.interval[1], stamp, 0))
        if evaluation.endpoint is not None:
            metrics.append(Metric(REQUESTS_METRIC, evaluation.endpoint.requests, stamp, 0))
        self.client.log_batch(
            self.run_id, metrics=metrics, params=[Param(key, value) for key, value in params.items()], tags=tags
        )
        with tempfile.TemporaryDirectory(prefix="ailab-eval-") as scratch:
            folder = Path(scratch)
            (folder / RESULT_ARTIFACT).write_text(json.dumps(evaluation.to_json(), indent=2) + "\n", encoding="utf-8")
            for name, data in evaluation.plots.items():
                (folder / name).write_bytes(data)
            for check in evaluation.checks:
                if check.details.get("groups"):
                    (folder / f"groups-{check.id}.csv").write_text(groups_csv(check.details["groups"]), encoding="utf-8")
            for name, text in reports.items():
                (folder / name).write_text(text, encoding="utf-8")
            if evaluation.transcripts:
                _write_transcripts(folder, evaluation.transcripts)
            self.client.log_artifacts(self.run_id, str(folder))


def _write_transcripts(folder: Path, transcripts: dict[str, str]) -> Path:
    """``transcripts/<check>.jsonl`` under ``folder``; returns ``folder``, ready to log as the run's artifacts."""
    (folder / TRANSCRIPTS).mkdir()
    for check_id, lines in transcripts.items():
        (folder / TRANSCRIPTS / f"{check_id}.jsonl").write_text(lines, encoding="utf-8")
    return folder


def run_params(evaluation: Evaluation) -> dict[str, str]:
    """What the run is a run of: the plan, the software, and the model and data, or the endpoint and its probes."""
    fingerprints = evaluation.fingerprints
    params = {
        "plan_name": evaluation.plan_name,
        "plan_sha256": fingerprints.plan_sha256,
        "ailab_version": fingerprints.ailab_version,
        "lock_sha256": fingerprints.lock_sha256 or "",
        "rows": str(evaluation.rows),
        "bootstrap_samples": str(evaluation.bootstrap_samples),
    }
    if fingerprints.model_uri is not None:
        params |= {
            "dataset_sha256": fingerprints.dataset_sha256 or "",
            "train_sha256": fingerprints.train_sha256 or "",
            "model_uri": fingerprints.model_uri,
            "model_version": fingerprints.model_version or "",
        }
    endpoint = evaluation.endpoint
    if endpoint is not None:
        params |= {"endpoint_url": endpoint.url, "endpoint_api": endpoint.api, "endpoint_model": endpoint.model or ""}
        for source in endpoint.sources:
            params[f"probes.{source.check}"] = source.label
            params[f"probes_sha256.{source.check}"] = source.sha256
    return params


def groups_csv(rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    fields = ["group", "size", "small", "selection_rate", "true_positive_rate", "false_positive_rate", "accuracy"]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def fetch_evaluation(tracking: Tracking, run_id: str) -> Evaluation:
    """The evaluation recorded by run ``run_id`` (its ``evaluation.json`` and plots)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from ailab.eval.result import SCHEMA, Evaluation

    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise BadInputError(f"run id {run_id!r}: expected 32 hexadecimal characters (the mlflow_run_id of ailab eval run --json)")
    client = MlflowClient(tracking_uri=tracking.url)
    with tempfile.TemporaryDirectory(prefix="ailab-report-") as scratch:
        try:
            folder = Path(client.download_artifacts(run_id, "", scratch))
        except MlflowException as err:
            raise BadInputError(
                f"run {run_id}: not found or not readable by {tracking.username} on {tracking.url} ({str(err).splitlines()[0]})"
            ) from None
        result = folder / RESULT_ARTIFACT
        if not result.is_file():
            raise BadInputError(f"run {run_id}: has no {RESULT_ARTIFACT}; it is not a finished ailab evaluation run")
        data = json.loads(result.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise BadInputError(
                f"run {run_id}: its {RESULT_ARTIFACT} is not {SCHEMA}; report it with the ailab version that ran it"
            )
        evaluation = Evaluation.from_json(data)
        evaluation.plots = {path.name: path.read_bytes() for path in folder.glob("plot-*.png")}
    return evaluation
