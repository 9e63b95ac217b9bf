"""``ailab lab``: architects' view of the lab as code (validate, plan offline, list stacks)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ailab.cli import lab_local
from ailab.cli.base import new_group

if TYPE_CHECKING:
    from ailab.spec.model import LabSpec

app = new_group("Architects: validate and plan the lab offline, from the stack files in stacks/.")
app.add_typer(lab_local.app, name="local")

StackOption = typer.Option(..., "--stack", "-s", help="Stack name: stacks/Pulumi.<stack>.yaml.")


@app.command()
def plan(
    stack: str = StackOption,
    json_file: Path | None = typer.Option(
        None, "--json", help="Also write the resource graph (ailab.plan/v1) to this file; '-' for stdout."
    ),
    tree: bool = typer.Option(True, "--tree/--no-tree", help="Print the component tree."),
) -> None:
    """Plan the lab of STACK offline: no Pulumi CLI, credentials or cluster.

    Runs the real program under the Pulumi SDK's mock monitor with the stack's config and
    prints the component tree and the resources by type. Secrets print as [secret].
    """
    from rich.markup import escape

    from ailab.cli.console import err, warn_example_secrets
    from ailab.cli.plan_view import show_plan
    from ailab.errors import BadInputError
    from ailab.plan.lab import plan_lab
    from ailab.spec.stackfile import find_project, read_stack

    if json_file is not None and json_file.is_dir():  # before seconds of planning, not after
        raise BadInputError(f"--json {json_file}: is a directory; give a file name for the plan")
    project = find_project()
    warn_example_secrets(read_stack(project, stack))
    with err().status(f"planning stack {escape(stack)} offline ..."):
        result = plan_lab(stack, project)
    show_plan(result, json_file, tree)


@app.command()
def validate(stack: list[str] = typer.Option(None, "--stack", "-s", help="Stack(s) to validate; all when omitted.")) -> None:
    """Validate the lab specification of each stack file; print one line per stack."""
    from rich.markup import escape

    from ailab.cli.console import out, warn_example_secrets
    from ailab.infra.layers import stack_layer
    from ailab.spec.stackfile import find_project, load_stack_spec

    project = find_project()
    for name in stack or project.stacks():
        spec, stack_config = load_stack_spec(name, project)
        layer = stack_layer(spec, name)  # a split lab's stack file must be one of the two it names
        warn_example_secrets(stack_config)
        out().print(
            f"[green]ok[/] {name}: {spec.target} {escape(_location(spec))}, {len(spec.gpu_pools)} GPU pool(s), "
            f"{len(spec.sandbox.profiles)} profile(s)" + ("" if layer == "whole" else f", the {layer} layer")
        )


@app.command()
def stacks(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the stacks in stacks/ with their target, location and GPU pools."""
    from ailab.cli.console import emit_json, out
    from ailab.spec.stackfile import find_project, load_stack_spec

    project = find_project()
    rows: list[dict[str, Any]] = []
    for name in project.stacks():
        spec = load_stack_spec(name, project)[0]
        rows.append(
            {
                "stack": name,
                "target": spec.target,
                "location": _location(spec),
                "cluster": spec.cluster.name,
                "gpu_pools": [pool.name for pool in spec.gpu_pools],
                "profiles": sorted(spec.sandbox.profiles),
            }
        )
    if as_json:
        emit_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    from ailab.cli.console import text_row

    table = Table(title=f"Stacks of {escape(project.name)}")
    for column in ("stack", "target", "location", "cluster", "GPU pools", "sandbox profiles"):
        table.add_column(column)
    for row in rows:
        text_row(
            table,
            row["stack"],
            row["target"],
            row["location"],
            row["cluster"],
            ", ".join(row["gpu_pools"]),
            ", ".join(row["profiles"]),
        )
    out().print(table)


def _location(spec: LabSpec) -> str:
    """Where the lab runs: its AWS region, or the kubeconfig context of its on-premises cluster."""
    return spec.aws_settings().region if spec.target == "aws" else spec.onprem_settings().kubeconfig_context


@app.command()
def schema(
    output_format: str = typer.Option(
        "json", "--format", "-f", help="json (JSON Schema of a whole stack file, for editors) or markdown (the reference)."
    ),
) -> None:
    """Print the JSON Schema of a stack file (docs/schemas/stack-file.schema.json), or the spec reference as Markdown."""
    from ailab.cli.console import emit_json
    from ailab.errors import BadInputError

    if output_format == "markdown":
        from ailab.spec.reference import render_reference

        typer.echo(render_reference(), nl=False)
    elif output_format == "json":
        from ailab.spec.schema import stack_file_schema

        emit_json(stack_file_schema())
    else:
        raise BadInputError(f"--format {output_format!r}: use json or markdown")


@app.command()
def backend() -> None:
    """Print the Pulumi state backend URL ailab uses, for `pulumi login "$(ailab lab backend)"`.

    $AILAB_BACKEND_URL (e.g. s3://bucket/prefix, Pulumi's S3 backend with locking) when set,
    else a local file backend in ailab's data directory. Never Pulumi Cloud by default.
    """
    from ailab.home import backend_url

    typer.echo(backend_url())
