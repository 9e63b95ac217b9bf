"""Help is whole: no command's description is cut with '...' at 80 columns."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ailab.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("group", [[], ["lab"], ["policy"], ["sandbox"], ["eval"], ["audit"], ["evidence"], ["nodes"], ["gpu"]])
def test_group_help_lists_every_command_whole(group: list[str]) -> None:
    result = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands
    assert all(len(line) <= 80 for line in result.output.splitlines())


@pytest.mark.parametrize(
    "command",
    [["sandbox", "create"], ["sandbox", "plan"], ["policy", "check"], ["lab", "plan"], ["eval", "run"], ["evidence", "bundle"]],
)
def test_options_name_their_values_not_python_types(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    options = result.output.split("Options:", 1)[1]
    assert "<str>" not in options and "<list[str]>" not in options and "<Path>" not in options
