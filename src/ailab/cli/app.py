"""The ``ailab`` command: one sub-command group per persona's job.

Group modules import only typer at module level; everything heavy (Pulumi, the providers,
MLflow, Ansible) is imported inside the command that needs it, so ``ailab --help`` is instant.
"""

from __future__ import annotations

from typing import Any

import typer

from ailab import __version__
from ailab.cli import audit, eval, evidence, gpu, lab, nodes, policy, sandbox
from ailab.cli.base import WholeHelpGroup
from ailab.cli.console import print_error
from ailab.errors import AilabError


class AilabGroup(WholeHelpGroup):
    """Turns an :class:`~ailab.errors.AilabError` from any sub-command into one line and its exit code."""

    # ``ctx`` is typed Any: its class is click's Context, which typer vendors under a private
    # module (typer._click) that ailab does not import; typer.Context is a narrower subclass.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AilabError as error:
            print_error(str(error))
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    name="ailab",
    cls=AilabGroup,
    help="Provision and govern the AI Lab: the lab as code, per-audit sandboxes, policy reports, hosts and GPUs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ailab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Exit codes: 0 ok, 1 findings or failure, 2 bad input, 3 missing prerequisite."""


app.add_typer(lab.app, name="lab")
app.add_typer(policy.app, name="policy")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(eval.app, name="eval")
app.add_typer(audit.app, name="audit")
app.add_typer(evidence.app, name="evidence")
app.add_typer(nodes.app, name="nodes")
app.add_typer(gpu.app, name="gpu")


def main() -> None:
    """Console-script entry point."""
    app()
