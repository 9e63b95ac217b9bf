"""Every command's help names its values like mature CLIs do, at 80 columns and in a pipe:
``Usage: ailab sandbox show [OPTIONS] AUDIT_ID``, never typer's ``{AUDIT_ID}`` or ``AUDIT_ID <str>``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperArgument
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.cli.base import new_group

runner = CliRunner()

# The labels typer gives a value by its Python type: <str>, <int>, <path>, <list[str]>, <a|b>, <int range>.
TYPE_LABEL = re.compile(r"<(?:str|int|float|bool|path|Path|datetime|uuid|UUID|list\[[^>]*\]|[\w ]+ range|[\w.-]+(?:\|[\w.-]+)+)>")


def _walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found.extend(_walk(sub, (*path, name)))
    return found


EVERY_COMMAND = _walk(typer.main.get_command(app))
RENDERINGS = {
    "80 columns": {"env": {"COLUMNS": "80"}, "terminal_width": 80},
    "pipe": {"env": {"COLUMNS": None}},
}


def _usage(output: str) -> str:
    """The usage paragraph, joined when click wrapped it."""
    return " ".join(output.split("\n\n", 1)[0].split())


def test_the_walk_reaches_nested_commands() -> None:
    paths = [path for path, _ in EVERY_COMMAND]
    assert ("lab", "local", "up") in paths and ("sandbox", "show") in paths and len(paths) > 30


@pytest.mark.parametrize("rendering", RENDERINGS)
@pytest.mark.parametrize(("path", "command"), EVERY_COMMAND, ids=[" ".join(path) or "ailab" for path, _ in EVERY_COMMAND])
def test_help_names_values_not_types(path: tuple[str, ...], command: Any, rendering: str) -> None:
    result = runner.invoke(app, [*path, "--help"], **RENDERINGS[rendering])
    output = result.output
    assert result.exit_code == 0 and result.exception is None, output
    assert "Traceback" not in output
    assert not TYPE_LABEL.search(output), TYPE_LABEL.findall(output)
    assert "{" not in output and "}" not in output
    assert "..." not in output
    assert all(len(line) <= 80 for line in output.splitlines())

    required = [param for param in command.params if isinstance(param, TyperArgument) and param.required]
    usage = _usage(output)
    for argument in required:
        name = argument.metavar
        assert name and name == name.upper(), f"{name!r} is not in upper case"
        assert usage.endswith(name) or f" {name} " in usage, usage
        assert re.search(rf"^  {re.escape(name)}  ", output.split("Arguments:", 1)[1], re.MULTILINE), output


def test_piped_help_of_the_installed_command() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("ailab")), "sandbox", "show", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ailab sandbox show [OPTIONS] AUDIT_ID\n"), result.stdout
    assert "AUDIT_ID <str>" not in result.stdout


def test_optional_and_repeated_arguments_follow_clicks_convention() -> None:
    group = new_group("A group.")

    @group.command()
    def copy(source: str, targets: list[str] = typer.Argument(None, help="Where to.")) -> None:
        """Copy."""

    @group.command()
    def other() -> None:
        """A second command, so typer keeps the group instead of running ``copy`` alone."""

    result = runner.invoke(group, ["copy", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert _usage(result.output).endswith("[OPTIONS] SOURCE [TARGETS]...")
    assert "TARGETS  Where to." in result.output and "<list[str]>" not in result.output
    missing = runner.invoke(group, ["copy"])
    assert missing.exit_code == 2 and "Missing argument 'SOURCE'" in missing.output
