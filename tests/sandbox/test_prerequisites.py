"""Missing prerequisites of a change come in one message, exit 3: the Pulumi CLI, the passphrase and,
for a deployment, the lab stack whose outputs the sandbox reads; what could not be checked is named too."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from tests.sandbox.conftest import FakePulumi
from tests.sandbox.test_cli import CREATE
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.sandbox import lifecycle

runner = CliRunner()
CLI = "needs the Pulumi CLI, which is not on PATH"
PASSPHRASE = "a passphrase for the sandbox's secrets"
LAB = "the lab stack aws-eu deployed"
UNCHECKED = "not checked: whether the lab stack aws-eu is deployed"


def _checkpoint(home: Path, *parts: str) -> Path:
    path = home.joinpath("state", ".pulumi", "stacks", *parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    """The engine's calls replaced; what is on PATH, in the environment and in the backend is up to each test."""
    fake = FakePulumi()
    monkeypatch.setattr(lifecycle, "up", fake.up)
    monkeypatch.setattr(lifecycle, "destroy", fake.destroy)
    monkeypatch.setattr(lifecycle, "backend_specs", lambda: ({}, {}))
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return fake


@pytest.mark.parametrize(
    ("has_cli", "has_passphrase", "lab"),
    [
        combo
        for combo in itertools.product([True, False], [True, False], ["deployed", "absent", "s3"])
        if combo[:2] != (True, True) or combo[2] == "absent"
    ],
)
def test_create_names_everything_missing_at_once(
    engine: FakePulumi,
    ailab_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    has_cli: bool,
    has_passphrase: bool,
    lab: str,
) -> None:
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: "/usr/local/bin/pulumi" if has_cli else None)
    if has_passphrase:
        monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/run/secrets/passphrase")
    if lab == "deployed":
        _checkpoint(ailab_home, "ailab", "aws-eu.json")
    if lab == "s3":
        monkeypatch.setenv("AILAB_BACKEND_URL", "s3://lab-state?region=eu-west-1")

    result = runner.invoke(app, CREATE)

    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert text.count("error:") == 1 and "Traceback" not in result.output
    assert (CLI in text) is not has_cli
    assert (PASSPHRASE in text) is not has_passphrase
    assert (LAB in text) is (lab == "absent")
    assert (UNCHECKED in text) is (lab == "s3")
    if lab == "absent":
        assert 'pulumi login "$(ailab lab backend)", then pulumi up -s aws-eu' in text
    assert engine.ups == []


@pytest.mark.parametrize("lab", ["deployed", "s3"])
def test_create_goes_ahead_when_nothing_known_is_missing(
    engine: FakePulumi, ailab_home: Path, monkeypatch: pytest.MonkeyPatch, lab: str
) -> None:
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: "/usr/local/bin/pulumi")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-passphrase")
    if lab == "deployed":
        _checkpoint(ailab_home, "ailab", "aws-eu.json")
    else:
        monkeypatch.setenv("AILAB_BACKEND_URL", "s3://lab-state")
    result = runner.invoke(app, CREATE)
    assert result.exit_code == 0, result.output
    assert len(engine.ups) == 1


@pytest.mark.parametrize("command", [["sandbox", "destroy", "a1", "--yes"], ["sandbox", "reap"]])
def test_destroy_and_reap_name_the_cli_and_the_passphrase_not_the_lab(
    engine: FakePulumi, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: None)
    result = runner.invoke(app, command)
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert CLI in text and PASSPHRASE in text and "lab stack" not in text


@pytest.mark.parametrize(
    ("parts", "deployed"),
    [
        (("ailab", "aws-eu.json"), True),
        (("ailab", "aws-eu.json.gz"), True),
        (("aws-eu.json",), True),  # the legacy layout, without projects
        (("ailab", "aws-eu.json.bak"), False),  # what `pulumi stack rm` leaves
        (("ailab-sandboxes", "aws-eu.json"), False),  # another project's stack of that name
        (("ailab", "onprem.json"), False),
    ],
)
def test_the_lab_stack_is_read_from_a_file_backend(ailab_home: Path, parts: tuple[str, ...], deployed: bool) -> None:
    _checkpoint(ailab_home, *parts)
    assert lifecycle.lab_stack_deployed("ailab", "aws-eu") is deployed


def test_other_backends_are_not_read_without_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILAB_BACKEND_URL", "s3://lab-state")
    assert lifecycle.lab_stack_deployed("ailab", "aws-eu") is None


def test_extend_names_the_lab_stack_of_the_sandbox(engine: FakePulumi, ailab_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: "/usr/local/bin/pulumi")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-passphrase")
    checkpoint = _checkpoint(ailab_home, "ailab", "aws-eu.json")
    assert runner.invoke(app, CREATE).exit_code == 0
    checkpoint.unlink()  # the lab was destroyed since
    result = runner.invoke(app, ["sandbox", "extend", "2025-017-chatbot", "--by", "1h"])
    assert result.exit_code == 3, result.output
    assert LAB in " ".join(result.output.split()) and len(engine.ups) == 1
