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
    from ailab.eval.plan import LoadedPlan
    from ailab.eval.result import Evaluation

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

    table = Table(title="Evaluation checks", expand=False)
    for header in ("check", "kind", "threshold", "title"):
        table.add_column(header, overflow="fold")
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
    json_file: Path | None = typer.Option(
        None, "--json", help="Write the result (ailab.eu/eval-run/v1) to this file; '-' for stdout."
    ),
) -> None:
    """Run a plan and record it in the audit's MLflow experiment audit/<id>.

    Exit codes: 0 every check passed, 1 a check failed (or the run failed), 2 bad input, 3 missing prerequisite.
    """
    from ailab.cli.console import emit_json, err
    from ailab.errors import AilabError, BadInputError
    from ailab.eval import tracking
    from ailab.eval.data import load_data
    from ailab.eval.plan import load_plan
    from ailab.eval.report import html, markdown
    from ailab.eval.result import run_summary
    from ailab.eval.runner import evaluate
    from ailab.eval.target import load_model

    if not local:
        raise BadInputError("give --local: the in-sandbox mode (--stack) is not available in this version")
    loaded = load_plan(plan)
    spec = loaded.plan
    if spec.target.endpoint is None:
        data = load_data(loaded)
    else:
        from ailab.eval.endpoint_checks import evaluate_endpoint, load_inputs
        from ailab.eval.llm.client import EndpointClient

        # Unreadable probes and an unset API key stop the run here, before anything is recorded.
        probes = load_inputs(loaded)
        client = EndpointClient(spec.target.endpoint)
    err().print(f"starting (or reusing) the local MLflow server for audit {spec.metadata.audit}", markup=False)
    target = tracking.local_tracking()
    experiment_id = tracking.audit_experiment(target, spec.metadata.audit)
    run_id: str | None = None
    try:
        with tracking.client_environment(target), tracking.RecordedRun(target, experiment_id, loaded) as recorded:
            run_id = recorded.run_id
            err().print(f"MLflow run {run_id} in audit/{spec.metadata.audit}: evaluating {len(spec.checks)} checks", markup=False)
            if spec.target.endpoint is None:
                excluded = {spec.model_dataset.label, *spec.model_dataset.sensitive_features}
                where = loaded.where(("target", "model"))
                model = load_model(loaded.model_uri(), where, list(data.test.frame.columns), excluded)
                evaluation = evaluate(loaded, data, model)
            else:
                evaluation = evaluate_endpoint(loaded, probes, client)
            recorded.log(evaluation, {"report.html": html(evaluation), "report.md": markdown(evaluation)})
    except AilabError as error:
        _record(loaded, run_id, None, "error", str(error).splitlines()[0])
        raise
    except Exception as error:
        _record(loaded, run_id, None, "error", f"{type(error).__name__}: {error}")
        raise
    _record(loaded, run_id, evaluation, evaluation.verdict, None)
    _print_result(evaluation, run_id, target.url, to_stderr=json_file is not None and str(json_file) == "-")
    if json_file is not None:
        emit_json(run_summary(evaluation, run_id, target.url), json_file)
    if evaluation.verdict != "pass":
        raise typer.Exit(1)


def _record(loaded: LoadedPlan, run_id: str | None, evaluation: Evaluation | None, outcome: str, detail: str | None) -> None:
    """Append the run to the audit log: plan hash → verdicts → MLflow run id."""
    from ailab.sandbox.auditlog import AuditLog

    verdict: dict[str, Any] | None = None
    if evaluation is not None:
        verdict = {"overall": evaluation.verdict, "checks": {check.id: check.verdict for check in evaluation.checks}}
    AuditLog().append(
        "eval.run",
        audit_id=loaded.plan.metadata.audit,
        arguments={"plan": str(loaded.path), "plan_sha256": loaded.sha256, "mlflow_run_id": run_id, "mode": "local"},
        outcome=outcome,
        verdict=verdict,
        detail=detail,
    )


def _print_result(evaluation: Evaluation, run_id: str | None, url: str, *, to_stderr: bool) -> None:
    """The result table, on stdout unless stdout carries the JSON."""
    from rich.table import Table

    from ailab.cli.console import err, out, text_row

    console = err() if to_stderr else out()

    table = Table(title=f"{evaluation.plan_name}: {evaluation.verdict.upper()}", expand=False)
    for header in ("check", "kind", "value", "interval", "threshold", "verdict"):
        table.add_column(header, overflow="fold")
    for check in evaluation.checks:
        value = "-" if check.value is None else f"{check.value:.3f}"
        bounds = "-" if check.interval is None else f"{check.interval[0]:.3f}..{check.interval[1]:.3f}"
        text_row(table, check.id, check.kind, value, bounds, f"{check.threshold_key} {check.threshold:g}", check.verdict)
    console.print(table)
    for check in evaluation.checks:
        if check.reason:
            console.print(f"{check.id}: {check.reason}", markup=False)
    console.print(f"MLflow run {run_id} at {url}", markup=False)


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
