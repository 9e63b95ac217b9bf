"""The root command: help everywhere, version, one-line errors with their exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from ailab import __version__
from ailab.cli.app import app

runner = CliRunner()


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name
        found.append((*prefix, sub.name))
        found.extend(_commands(sub.typer_instance, (*prefix, sub.name)))
    for command in group.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(app), ids=" ".join)
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"ailab {__version__}"


def test_unknown_command_is_bad_input() -> None:
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


def test_help_does_not_import_heavy_packages() -> None:
    code = "import sys; from ailab.cli.app import app; print(sorted(m for m in sys.modules if m.split('.')[0] in {'pulumi', 'pulumi_aws', 'pulumi_kubernetes', 'mlflow', 'ansible_runner', 'qdrant_client', 'pynvml', 'rich', 'pydantic'}))"
    imported = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    assert imported == "[]"
