"""`ailab policy`: security reviewers check the lab, a plan, a preview, a state export or manifests
against the rules and the EU regulations and standards they serve.

This module does the orchestration the policy package must not: ``--stack`` plans the stack
offline (``ailab.plan``, which ``ailab.policy`` may not import) and hands its specification to
:meth:`~ailab.policy.model.RuleContext.from_lab`; the input files are read by
:func:`ailab.policy.loaders.load_inputs`.
Only typer is imported at module level; the engine, the loaders and rich load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ailab.cli.base import new_group

if TYPE_CHECKING:
    from ailab.policy.engine import Report
    from ailab.policy.loaders import LoadedInputs
    from ailab.policy.model import Record, Rule, RuleContext, Severity
    from ailab.policy.waivers import Waiver
    from ailab.spec.model import LabSpec

app = new_group("Security reviewers: check the lab, a plan or manifests against the rules and their EU controls.")


@app.command()
def check(
    stack: str | None = typer.Option(
        None, "--stack", "-s", help="Plan this stack (stacks/Pulumi.<stack>.yaml) offline and check it."
    ),
    plan: Path | None = typer.Option(None, "--plan", help="An offline plan: ailab lab plan --json FILE."),
    preview: Path | None = typer.Option(None, "--preview", help="The output of pulumi preview --json."),
    state: Path | None = typer.Option(None, "--state", help="The output of pulumi stack export."),
    manifests: list[Path] = typer.Option(
        None,
        "--manifests",
        "-m",
        help="Kubernetes manifest file or directory (YAML, JSON, kind: List; Helm, kustomize and other YAML skipped with a note); repeatable.",
    ),
    waivers: Path | None = typer.Option(None, "--waivers", "-w", help="Waivers file (see policies/waivers.example.yaml)."),
    formats: str = typer.Option(
        "console", "--format", "-f", help="Comma-separated: console, json, sarif, junit, md (or markdown), html."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help=(
            "Directory for the report files, policy-<stack, or the one input's name, or 'report'>.<ext>; "
            "without it one format prints to stdout."
        ),
    ),
    fail_on: str = typer.Option(
        "high", "--fail-on", help="Exit 1 when a finding is at or above this severity: low, medium, high, critical."
    ),
    framework: list[str] = typer.Option(
        None,
        "--framework",
        help="Only rules mapped to this framework (eudpr, gdpr, ai-act, iso27001, cis-k8s, cis-eks, nsa-cisa); repeatable.",
    ),
    allowed_registry: list[str] = typer.Option(
        None, "--allowed-registry", help="Image prefix the supply-chain rules accept; repeatable (with --stack: the spec's list)."
    ),
    allow_empty: bool = typer.Option(
        False, "--allow-empty", help="Pass an input with no resources in it (by default that is bad input, exit 2)."
    ),
) -> None:
    """Check resources against the policy rules and write the reports.

    Exit codes: 0 nothing at or above --fail-on, 1 findings (or a rule error), 2 bad input (an input with no
    resources included, unless --allow-empty).
    """
    from ailab.errors import BadInputError
    from ailab.policy.model import Severity
    from ailab.policy.report import parse_formats

    threshold = Severity.parse(fail_on)
    wanted = parse_formats(formats)
    if output is None and len(wanted) > 1:
        raise BadInputError(f"--format {formats}: several formats need --output DIR to write them to")
    if output is not None and output.exists() and not output.is_dir():
        raise BadInputError(f"--output {output}: is a file; give a directory for the reports")
    if not any((stack, plan, preview, state, manifests)):
        raise BadInputError("nothing to check: give --stack, --plan, --preview, --state or --manifests")
    if stack and plan:
        # --stack plans the stack itself: with a plan of it too, every resource would be counted twice.
        raise BadInputError(f"--stack {stack} and --plan {plan}: --stack already plans the stack; give one of them")

    from ailab.policy.engine import evaluate, rules_for_frameworks
    from ailab.policy.model import all_rules

    catalogue = all_rules()
    rules = rules_for_frameworks(
        catalogue.values(), [item.strip() for entry in framework or () for item in entry.split(",") if item.strip()]
    )
    if not rules:
        raise BadInputError("no rules to check: the catalogue is empty or --framework matched no rule; see ailab policy rules")
    loaded, context = _load_inputs(stack, plan, preview, state, manifests or [], allowed_registry or [])
    if not loaded.records and not allow_empty:
        skipped = f" ({len(loaded.notes)} skipped; the first: {loaded.notes[0]})" if loaded.notes else ""
        raise BadInputError(
            f"nothing to check: {', '.join(loaded.sources)} hold(s) no resources{skipped}; "
            "check the paths, or pass --allow-empty to accept an empty input"
        )
    waiver_list = _load_waivers(waivers, catalogue)
    report = evaluate(
        loaded.records,
        rules=rules,
        context=context,
        waivers=waiver_list,
        sources=loaded.sources,
        notes=loaded.notes,
        inputs=loaded.digests.items(),
    )
    _emit(
        report,
        wanted,
        output,
        report_stem(stack, [path for path in (plan, preview, state) if path] + list(manifests or ())),
        threshold,
    )
    if report.blocking(threshold):
        raise typer.Exit(1)


@app.command("rules")
def rules_command(
    as_json: bool = typer.Option(False, "--json", help="Print the catalogue as JSON."),
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Write the rules reference (docs/policy-rules.md) to this file."
    ),
) -> None:
    """List every rule: id, severity, title and the frameworks it maps to."""
    from ailab.cli.console import emit_json, out, write_file
    from ailab.policy.model import all_rules

    catalogue = all_rules()
    if markdown is not None:
        from ailab.policy.reference import rules_markdown

        write_file(markdown, rules_markdown(catalogue.values()))
        return
    if as_json:
        from ailab.policy.report.common import rule_json

        emit_json([rule_json(rule) for rule in catalogue.values()])
        return
    from rich.table import Table

    table = Table(title=f"{len(catalogue)} policy rules")
    for column in ("rule", "severity", "scope", "title", "frameworks"):
        table.add_column(column, overflow="fold")
    for rule in catalogue.values():
        table.add_row(rule.id, rule.severity.value, rule.scope, rule.title, ", ".join(sorted(rule.frameworks())))
    out().print(table)


@app.command()
def explain(rule_id: str = typer.Argument(..., metavar="RULE-ID", help="e.g. AILAB-K8S-012")) -> None:
    """Everything about one rule: why it exists, how to fix a finding, the controls it serves."""
    from ailab.cli.console import out
    from ailab.policy.model import all_rules, rule_source

    rule = _find_rule(rule_id, all_rules())
    console = out()
    console.print(f"[bold]{rule.id}[/]  {rule.title}", markup=True)
    console.print(
        f"severity {rule.severity.value} · scope {rule.scope} · applies to {', '.join(sorted(rule.types)) or 'every resource'}"
    )
    console.print(f"\n[bold]Why[/]\n{rule.rationale}\n\n[bold]Fix[/]\n{rule.remediation}\n\n[bold]Controls[/]", markup=True)
    for control in rule.controls:
        console.print(f"  • {control.label()}" + (f" — {control.title}" if control.title else ""), markup=False)
    console.print(f"\nSource: {rule_source(rule)}", markup=False, highlight=False)


def report_stem(stack: str | None, paths: list[Path]) -> str:
    """``policy-<stack>``, ``policy-<the one input's name>`` (``k8s/`` → ``policy-k8s``, ``app.yaml`` → ``policy-app``),
    or ``policy-report`` for several inputs."""
    import re

    if stack:
        name = stack
    elif len(paths) == 1:
        path = paths[0].resolve() if paths[0].name in ("", ".", "..") else paths[0]
        name = path.name if path.is_dir() else path.stem
    else:
        name = "report"
    # The name becomes a file name: nothing that could leave the output directory or trouble a shell.
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "report"
    return f"policy-{name}"


def _find_rule(rule_id: str, catalogue: dict[str, Rule]) -> Rule:
    from difflib import get_close_matches

    from ailab.errors import BadInputError

    rule = catalogue.get(rule_id.upper())
    if rule is None:
        close = get_close_matches(rule_id.upper(), list(catalogue), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "list them with ailab policy rules"
        raise BadInputError(f"unknown rule {rule_id!r}; {hint}")
    return rule


def _load_inputs(
    stack: str | None,
    plan: Path | None,
    preview: Path | None,
    state: Path | None,
    manifests: list[Path],
    allowed_registries: list[str],
) -> tuple[LoadedInputs, RuleContext]:
    """Records from every input given, with their sources and notes for the report, and the rule context."""
    from ailab.policy.loaders import load_inputs
    from ailab.policy.model import RuleContext

    lab: LabSpec | None = None
    loaded = load_inputs(plan=plan, preview=preview, state=state, manifests=manifests)
    if stack:
        import hashlib

        from ailab.safeload import read_text

        stack_records, stack_file, lab = _plan_stack(stack)
        loaded.records[:0] = stack_records
        loaded.sources.insert(0, stack_file)
        # The stack file was read (bounded) and validated by the planning above; the report names its exact bytes.
        loaded.digests = {stack_file: hashlib.sha256(read_text(Path(stack_file)).encode()).hexdigest(), **loaded.digests}
    context = RuleContext.from_lab(lab, allowed_registries=allowed_registries)
    return loaded, context


def _plan_stack(stack: str) -> tuple[list[Record], str, LabSpec]:
    """Plan ``stack`` offline (the policy package may not plan): its records, sourced to the stack file, the file, its spec."""
    import os

    from ailab.cli.console import err, warn_example_secrets
    from ailab.plan.lab import plan_lab
    from ailab.policy.loaders import records_from_plan
    from ailab.spec import load_stack_spec

    spec, stack_config = load_stack_spec(stack)
    warn_example_secrets(stack_config)
    with err().status(f"planning stack {stack} offline ..."):
        planned = plan_lab(stack, stack_config.project)
    stack_file = os.path.relpath(stack_config.path)
    return records_from_plan(planned.to_json(), stack_file), stack_file, spec


def _load_waivers(path: Path | None, catalogue: dict[str, Rule]) -> list[Waiver]:
    if path is None:
        return []
    from ailab.policy.waivers import load_waivers

    return load_waivers(path, catalogue.keys())


def _emit(report: Report, formats: list[str], output: Path | None, stem: str, fail_on: Severity) -> None:
    """Print the console report; write each file format to ``output/<stem><suffix>``, or to stdout without ``output``."""
    import sys

    from ailab.cli.console import out, write_file
    from ailab.policy.report import render, suffix

    for name in formats:
        if name == "console":
            from ailab.policy.report.console import print_report

            print_report(report, fail_on, out())
            continue
        text = render(report, name, fail_on)
        if output is None:
            sys.stdout.write(text)
            continue
        write_file(output / f"{stem}{suffix(name)}", text)
