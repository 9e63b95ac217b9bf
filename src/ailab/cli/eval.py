"""`ailab eval`: auditors declare, validate, run and report evaluations of the models under audit.

The evaluation itself lives in ``ailab.eval``; this module orchestrates it with ailab's local
MLflow server and appends each run to the audit log (the one place that does). Only typer is
imported at module level: pandas, scikit-learn, fairlearn, ART and MLflow load inside commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ailab.cli.base import new_group

if TYPE_CHECKING:
    from collections.abc import Callable

    from ailab.eval.data import EvaluationData
    from ailab.eval.plan import EvaluationPlan, LoadedPlan
    from ailab.eval.result import Evaluation
    from ailab.eval.tracking import RecordedRun, Tracking

app = new_group("Auditors: declare, validate, run and report evaluations of the models under audit.")

PlanArgument = typer.Argument(..., help="The evaluation plan (kind: EvaluationPlan), a YAML file.")


@app.command()
def checks(
    as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON (ailab.eu/eval-checks/v1)."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Write the reference (docs/eval-checks.md) to this file."),
) -> None:
    """List the checks a plan may declare: what each measures and the articles it serves."""
    from ailab.cli.console import emit_json, out, text_row, write_file
    from ailab.eval.catalogue import CHECK_TYPES
    from ailab.eval.reference import checks_markdown, threshold_text

    if markdown is not None:
        write_file(markdown, checks_markdown())
        return
    if as_json:
        emit_json(
            {
                "schema": "ailab.eu/eval-checks/v1",
                "checks": [
                    {
                        "id": entry.id,
                        "kind": str(entry.family),
                        "title": entry.title,
                        "measures": entry.measures,
                        "why": entry.why,
                        "articles": list(entry.articles),
                        "owasp": entry.owasp or None,
                        "better": str(entry.direction),
                        "tasks": [str(task) for task in entry.tasks],
                    }
                    for entry in CHECK_TYPES
                ],
            }
        )
        return
    from rich.table import Table

    # Ids and kinds whole (they are what `eval explain` and plans take); thresholds and titles wrap at words.
    table = Table(title="Evaluation checks", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("threshold")
    table.add_column("title")
    for entry in CHECK_TYPES:
        text_row(table, entry.id, str(entry.family), threshold_text(entry).replace("`", ""), entry.title)
    out().print(table)


@app.command()
def explain(check: str = typer.Argument(..., help="A check id, as listed by ailab eval checks.")) -> None:
    """Explain one check: what it measures, why it matters, its threshold and the articles it serves."""
    import difflib

    from ailab.errors import BadInputError
    from ailab.eval.catalogue import BY_ID
    from ailab.eval.reference import threshold_text

    entry = BY_ID.get(check)
    if entry is None:
        hint = difflib.get_close_matches(check, list(BY_ID), n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise BadInputError(f"unknown check {check!r}{suggestion}; ailab eval checks lists them")
    lines = [
        f"{entry.id}: {entry.title} ({entry.family})",
        f"What it measures: {entry.measures}",
        f"Why it matters: {entry.why}",
        f"Threshold: {threshold_text(entry).replace('`', '')}; better when {entry.direction}.",
        *([f"Risk probed: OWASP Top 10 for LLM Applications: {entry.owasp}"] if entry.owasp else []),
        f"Applies to: {entry.applies_to}",
        "Serves:",
        *(f"  - {article}" for article in entry.articles),
    ]
    typer.echo("\n".join(lines))


@app.command()
def validate(plan: Path = PlanArgument) -> None:
    """Check a plan and its data (columns, a binary label) without running it. Exit 0 valid, 2 with the problem."""
    from ailab.eval.data import load_data
    from ailab.eval.plan import load_plan

    loaded = load_plan(plan)
    endpoint = loaded.plan.target.endpoint
    if endpoint is not None:
        from ailab.eval.endpoint_checks import load_inputs

        probes = sum(item.size for item in load_inputs(loaded))
        typer.echo(
            f"{plan}: valid: {len(loaded.plan.checks)} checks sending {probes:,} probes to {endpoint.url}, "
            f"audit {loaded.plan.metadata.audit} (plan SHA-256 {loaded.sha256[:12]})"
        )
        return
    data = load_data(loaded)
    typer.echo(
        f"{plan}: valid: {len(loaded.plan.checks)} checks on {len(data.test.frame):,} rows, "
        f"audit {loaded.plan.metadata.audit} (plan SHA-256 {loaded.sha256[:12]})"
    )


@app.command()
def run(
    plan: Path = PlanArgument,
    local: bool = typer.Option(False, "--local", help="Run on this machine, logging to ailab's own MLflow server."),
    stack: str | None = typer.Option(
        None, "--stack", "-s", help="Run in the audit's sandbox on this lab stack, as a Kubernetes Job (see docs/eval.md)."
    ),
    plan_only: bool = typer.Option(
        False, "--plan-only", help="With --stack: print the Job's offline plan and policy gate; submit nothing."
    ),
    json_file: Path | None = typer.Option(
        None, "--json", help="Write the result (ailab.eu/eval-run/v1) to this file; '-' for stdout."
    ),
) -> None:
    """Run a plan and record it in the audit's MLflow experiment audit/<id>.

    Exit codes: 0 every check passed, 1 a check failed (or the run failed, or the policy gate blocked the Job),
    2 bad input, 3 missing prerequisite.
    """
    from ailab.cli.console import emit_json, err, json_to_stdout
    from ailab.errors import AilabError, BadInputError
    from ailab.eval import tracking
    from ailab.eval.plan import load_plan
    from ailab.eval.result import run_summary

    if stack is not None:
        if local:
            raise BadInputError("give --local or --stack, not both")
        _run_in_sandbox(plan, stack, plan_only=plan_only, json_file=json_file)
        return
    if plan_only:
        raise BadInputError("--plan-only plans the in-sandbox Job: give it with --stack LAB")
    if not local:
        raise BadInputError("give --local (on this machine) or --stack LAB (as a Job in the audit's sandbox)")
    loaded = load_plan(plan)
    spec = loaded.plan
    evaluate = _evaluator(loaded)
    err().print(f"starting (or reusing) the local MLflow server for audit {spec.metadata.audit}", markup=False)
    target = tracking.local_tracking()
    experiment_id = tracking.audit_experiment(target, spec.metadata.audit)
    run_id: str | None = None
    try:
        with tracking.client_environment(target), tracking.RecordedRun(target, experiment_id, loaded) as recorded:
            run_id = recorded.run_id
            err().print(f"MLflow run {run_id} in audit/{spec.metadata.audit}: evaluating {len(spec.checks)} checks", markup=False)
            evaluation = evaluate(recorded)
    except AilabError as error:
        _record(loaded, run_id, None, "error", str(error).splitlines()[0])
        raise
    except Exception as error:
        _record(loaded, run_id, None, "error", f"{type(error).__name__}: {error}")
        raise
    summary = run_summary(evaluation, run_id, target.url)
    _record(loaded, run_id, summary, evaluation.verdict, None)
    _print_result(summary, spec.metadata.name, _reasons(evaluation), to_stderr=json_to_stdout(json_file))
    if json_file is not None:
        emit_json(summary, json_file)
    if evaluation.verdict != "pass":
        raise typer.Exit(1)


def _evaluator(loaded: LoadedPlan) -> Callable[[RecordedRun], Evaluation]:
    """What evaluates the plan in an open MLflow run, its inputs read first.

    Unreadable data or probes and an unset API key stop the run here, before anything is recorded.
    """
    endpoint = loaded.plan.target.endpoint
    if endpoint is None:
        from ailab.eval.data import load_data

        data = load_data(loaded)
        return lambda recorded: _evaluate_recorded(loaded, data, recorded)
    from ailab.eval.endpoint_checks import evaluate_endpoint, load_inputs
    from ailab.eval.llm.client import EndpointClient

    probes = load_inputs(loaded)
    client = EndpointClient(endpoint)
    return lambda recorded: _log_with_reports(recorded, evaluate_endpoint(loaded, probes, client))


def _evaluate_recorded(loaded: LoadedPlan, data: EvaluationData, recorded: RecordedRun) -> Evaluation:
    """Load the model, run every check, and log the result and its reports to the open MLflow run."""
    from ailab.eval.runner import evaluate
    from ailab.eval.target import load_model

    spec = loaded.plan
    excluded = {spec.model_dataset.label, *spec.model_dataset.sensitive_features}
    model = load_model(loaded.model_uri(), loaded.where(("target", "model")), list(data.test.frame.columns), excluded)
    return _log_with_reports(recorded, evaluate(loaded, data, model))


def _log_with_reports(recorded: RecordedRun, evaluation: Evaluation) -> Evaluation:
    """Log the result and its reports to the open MLflow run."""
    from ailab.eval.report import html, markdown

    recorded.log(evaluation, {"report.html": html(evaluation), "report.md": markdown(evaluation)})
    return evaluation


def _reasons(evaluation: Evaluation) -> dict[str, str]:
    return {check.id: check.reason for check in evaluation.checks if check.reason}


def _record(
    loaded: LoadedPlan,
    run_id: str | None,
    summary: dict[str, Any] | None,
    outcome: str,
    detail: str | None,
    mode: str = "local",
) -> None:
    """Append the run to the audit log: plan hash → verdicts → MLflow run id."""
    from ailab.sandbox.auditlog import AuditLog

    verdict: dict[str, Any] | None = None
    if summary is not None:
        verdict = {"overall": summary["verdict"], "checks": {check["id"]: check["verdict"] for check in summary["checks"]}}
    AuditLog().append(
        "eval.run",
        audit_id=loaded.plan.metadata.audit,
        arguments={"plan": str(loaded.path), "plan_sha256": loaded.sha256, "mlflow_run_id": run_id, "mode": mode},
        outcome=outcome,
        verdict=verdict,
        detail=detail,
    )


def _print_result(summary: dict[str, Any], plan_name: str, reasons: dict[str, str], *, to_stderr: bool) -> None:
    """The result table of a run's summary (``run_summary``), on stdout unless stdout carries the JSON."""
    from ailab.cli.console import err, out, print_rows

    console = err() if to_stderr else out()
    rows = []
    for check in summary["checks"]:
        value = "-" if check.get("value") is None else f"{check['value']:.3f}"
        interval = check.get("interval")
        bounds = "-" if interval is None else f"{interval[0]:.3f}..{interval[1]:.3f}"
        threshold = " ".join(f"{key} {limit:g}" for key, limit in (check.get("threshold") or {}).items()) or "-"
        rows.append([check["id"], str(check.get("kind", "-")), value, bounds, threshold, str(check["verdict"])])
    headers = ("check", "kind", "value", "interval", "threshold", "verdict")
    # A table where it fits, a block per check at 80 columns, plain columns in a pipe: never a word cut in two.
    verdict = f"{plan_name}: {str(summary['verdict']).upper()}"
    print_rows(verdict, headers, rows, to=console)
    if not console.is_terminal:  # the plain layout has no title: the verdict gets its own line
        failed = sum(1 for row in rows if row[-1] != "pass")
        console.print(f"{verdict} ({failed} of {len(rows)} checks not passed)", markup=False)
    for check_id, reason in reasons.items():
        console.print(f"{check_id}: {reason}", markup=False)
    console.print(f"MLflow run {summary['mlflow_run_id']} at {summary['tracking_uri']}", markup=False)


def _run_in_sandbox(plan: Path, lab_stack: str, *, plan_only: bool, json_file: Path | None) -> None:
    """``run --stack``: the plan as a Job in the audit's sandbox, planned offline and gated before it is submitted."""
    from ailab.cli.console import emit_json, err, json_to_stdout
    from ailab.cli.plan_view import show_plan
    from ailab.cli.sandbox import print_gate, pulumi_output
    from ailab.errors import AilabError, BadInputError
    from ailab.eval.data import load_data
    from ailab.eval.plan import load_plan
    from ailab.sandbox.evaljob import bundle, submit
    from ailab.sandbox.evaljob.program import DEADLINE_SECONDS
    from ailab.sandbox.gate import GateBlockedError

    loaded = load_plan(plan)
    spec = loaded.plan
    endpoint = None
    if spec.target.endpoint is not None:
        from ailab.eval.endpoint_checks import load_inputs
        from ailab.sandbox.evaljob.endpoint import Endpoint

        load_inputs(loaded)  # probes, questions and the request budget are checked here, before anything reaches the cluster
        settings = spec.target.endpoint
        endpoint = Endpoint(settings.url, settings.api_key_env, loaded.where(("target", "endpoint", "url")))
        data_paths = _endpoint_files(spec)
    else:
        load_data(loaded)  # the data's columns and label are checked here, before anything reaches the cluster
        if spec.target.is_local:
            raise BadInputError(
                f"{loaded.where(('target', 'model'))}: a local model directory does not reach the sandbox; register the model "
                "in the audit's MLflow and give models:/<name>/<version>"
            )
        dataset = spec.model_dataset
        data_paths = [dataset.path, *([dataset.train_path] if dataset.train_path else [])]
    collected = bundle.collect(spec.metadata.audit, spec.metadata.name, plan, data_paths)
    job = submit.prepare(collected, lab_stack, endpoint=endpoint)
    member, key = None, None
    if not plan_only:
        submit.require_prerequisites(job)
        member = submit.login(job)
        # Read as --local reads it (unset: exit 3); it reaches only the Job's own Secret.
        key = spec.target.endpoint.api_key() if spec.target.endpoint is not None else None
    planned = submit.plan(job)
    show_plan(planned.plan, json_file if plan_only else None, tree=True)
    print_gate(planned.gate, full=not planned.gate.passed)
    if job.route is not None:
        err().print(job.route.summary(), markup=False, soft_wrap=True)
    if member is None:
        if not planned.gate.passed:
            raise typer.Exit(1)
        return
    try:
        submit.require_gate(planned)
        err().print(
            f"submitting Job {job.name} in {job.namespace}; waiting for it to finish (at most {DEADLINE_SECONDS // 60} min)",
            markup=False,
        )
        summary = submit.run(job, member, pulumi_output, key)
    except AilabError as error:
        outcome = "blocked" if isinstance(error, GateBlockedError) else "error"
        _record(loaded, None, None, outcome, str(error).splitlines()[0], mode="stack")
        raise
    run_id = summary.get("mlflow_run_id")
    _record(loaded, run_id, summary, str(summary["verdict"]), None, mode="stack")
    _print_result(summary, spec.metadata.name, {}, to_stderr=json_to_stdout(json_file))
    if json_file is not None:
        emit_json(summary, json_file)
    if summary["verdict"] != "pass":
        raise typer.Exit(1)


def _endpoint_files(spec: EvaluationPlan) -> list[str]:
    """What an endpoint plan reads beside itself: its checks' probe files and QA datasets, each once."""
    from ailab.eval.plan import QaQualityCheck

    paths = [check.dataset if isinstance(check, QaQualityCheck) else check.probes for check in spec.endpoint_checks]
    return list(dict.fromkeys(path for path in paths if path is not None))


@app.command("run-in-job", hidden=True)
def run_in_job(
    plan: Path = PlanArgument,
    result: Path = typer.Option(..., "--result", help="Where the JSON result goes: the container's termination message."),
) -> None:
    """The evaluation Job's entry point (docker/eval-runner): run the mounted plan, write the result for ailab to read.

    Exits 0 once the run is recorded, whatever its verdict (the verdict is in the result); a run that could
    not be made exits non-zero with an ``error`` object as its result, so the Job fails.
    """
    import os

    from ailab.errors import AilabError, MissingPrerequisiteError
    from ailab.eval import tracking
    from ailab.eval.plan import load_plan
    from ailab.eval.result import run_summary

    try:
        names = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise MissingPrerequisiteError(f"the evaluation Job needs {', '.join(missing)} in its environment")
        target = tracking.Tracking(*(os.environ[name] for name in names))
        loaded = load_plan(plan)
        evaluate = _evaluator(loaded)
        with tracking.client_environment(target):
            experiment_id = _experiment_id(target, loaded.plan.metadata.audit)
            with tracking.RecordedRun(target, experiment_id, loaded) as recorded:
                evaluation = evaluate(recorded)
    except Exception as error:
        reason = str(error).splitlines()[0] if isinstance(error, AilabError) else f"{type(error).__name__}: {error}"
        result.write_text(_fitted({"error": reason[:2000]}), encoding="utf-8")
        raise
    summary = run_summary(evaluation, recorded.run_id, target.url)
    result.write_text(_fitted(summary), encoding="utf-8")
    _print_result(summary, loaded.plan.metadata.name, _reasons(evaluation), to_stderr=False)


TERMINATION_MESSAGE_BYTES = 4096
"""Kubernetes keeps at most 4 KiB of a container's termination message."""


def _fitted(document: dict[str, Any]) -> str:
    """``document`` as compact JSON within :data:`TERMINATION_MESSAGE_BYTES`; a long check list keeps ids and verdicts."""
    import json

    text = json.dumps(document, separators=(",", ":"))
    if len(text.encode()) > TERMINATION_MESSAGE_BYTES and "checks" in document:
        short = {**document, "checks": [{"id": c["id"], "verdict": c["verdict"]} for c in document["checks"]]}
        text = json.dumps(short, separators=(",", ":"))
    return text


def _experiment_id(target: Tracking, audit: str) -> str:
    """The id of ``audit/<audit>``, which the sandbox made and granted the team (the Job never creates one)."""
    from mlflow import MlflowClient

    from ailab.errors import OperationFailedError
    from ailab.eval.tracking import EXPERIMENT_PREFIX

    experiment = MlflowClient(tracking_uri=target.url).get_experiment_by_name(EXPERIMENT_PREFIX + audit)
    if experiment is None:
        raise OperationFailedError(
            f"MLflow at {target.url} has no experiment {EXPERIMENT_PREFIX}{audit} that {target.username} may use; "
            "is the audit's sandbox ready (ailab sandbox show)?"
        )
    return str(experiment.experiment_id)


@app.command()
def report(
    run_id: str = typer.Argument(..., help="The MLflow run id (mlflow_run_id of ailab eval run --json)."),
    formats: str = typer.Option("html", "--format", "-f", help="Comma-separated: html, md, json."),
    output: Path = typer.Option(Path("reports"), "--output", "-o", help="Directory for eval-<plan>.<ext> and the plots."),
) -> None:
    """Write the report of an evaluation run, read back from the local MLflow server."""
    from ailab.errors import BadInputError
    from ailab.eval import tracking
    from ailab.eval.report import parse_formats

    wanted = parse_formats(formats)
    if output.exists() and not output.is_dir():
        raise BadInputError(f"--output {output}: is a file; give a directory for the reports")
    target = tracking.local_tracking()
    with tracking.client_environment(target):
        evaluation = tracking.fetch_evaluation(target, run_id)
    write_reports(evaluation, wanted, output)


def write_reports(evaluation: Evaluation, formats: list[str], output: Path) -> None:
    """``eval-<plan>.<ext>`` for each format, and the plots beside the Markdown."""
    from ailab.cli.console import write_file
    from ailab.eval.report import render

    for fmt in formats:
        write_file(output / f"eval-{evaluation.plan_name}.{fmt}", render(evaluation, fmt))
    if "md" in formats:
        for name, data in evaluation.plots.items():
            output.mkdir(parents=True, exist_ok=True)
            (output / name).write_bytes(data)
