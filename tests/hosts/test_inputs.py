"""User inputs of `ailab nodes`: inventory path, -e pairs, tags; and the CLI's exit code 2 before Ansible runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.errors import BadInputError
from ailab.hosts.inputs import extra_vars, inventory_path, tag_list

runner = CliRunner()


def test_inventory_must_exist(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    assert inventory_path(str(tmp_path / "hosts.yml")) == (tmp_path / "hosts.yml").resolve()
    assert inventory_path(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(BadInputError, match="no such inventory"):
        inventory_path(str(tmp_path / "missing.yml"))


def test_extra_vars_are_key_value_strings() -> None:
    assert extra_vars(["gpu_node_sharing=mig", "a_b=x=y", "empty="]) == {"gpu_node_sharing": "mig", "a_b": "x=y", "empty": ""}


@pytest.mark.parametrize("pair", ["novalue", "1x=3", "bad-key=1", "=v", "a.b=c", "key\n=1"])
def test_bad_extra_vars_are_refused(pair: str) -> None:
    with pytest.raises(BadInputError, match="expected KEY=VALUE"):
        extra_vars([pair])


def test_tags_are_split_and_checked() -> None:
    assert tag_list(None) == ()
    assert tag_list("hardening_sshd, cis_5.1") == ("hardening_sshd", "cis_5.1")
    with pytest.raises(BadInputError, match="comma-separated"):
        tag_list("a b")
    with pytest.raises(BadInputError):
        tag_list(",")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nodes", "prepare", "-i", "/nonexistent/inventory.yml"], "no such inventory"),
        (["nodes", "prepare", "-i", ".", "-e", "not-a-pair"], "expected KEY=VALUE"),
        (["nodes", "prepare", "-i", ".", "--tags", "a b"], "comma-separated"),
        (["nodes", "facts", "-i", "/nonexistent/inventory.yml"], "no such inventory"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
