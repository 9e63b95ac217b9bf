"""``ailab lab``: validate, stacks, schema — and bad input as one line with exit code 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ailab.cli.app import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("AILAB_PROJECT_DIR", raising=False)


def test_validate_all_stacks() -> None:
    result = runner.invoke(app, ["lab", "validate"])
    assert result.exit_code == 0, result.output
    assert "ok aws-eu: aws eu-central-1" in result.output
    assert "ok onprem: onprem ailab-onprem" in result.output


def test_stacks_json() -> None:
    result = runner.invoke(app, ["lab", "stacks", "--json"])
    assert result.exit_code == 0
    rows = {row["stack"]: row for row in json.loads(result.output)}
    assert rows["aws-eu"]["gpu_pools"] == ["h100", "l4"]
    assert rows["onprem"]["target"] == "onprem"


def test_schema_json_forbids_unknown_keys() -> None:
    result = runner.invoke(app, ["lab", "schema"])
    schema = json.loads(result.output)
    assert schema["additionalProperties"] is False
    lab = schema["$defs"]["LabSpec"]
    assert lab["additionalProperties"] is False
    assert "gpu_pools" in lab["required"]


def test_wrong_key_in_a_stack_file_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    text = (REPO / "stacks" / "Pulumi.onprem.yaml").read_text().replace("storage_class: local-path", "storage_klass: local-path")
    (tmp_path / "stacks" / "Pulumi.onprem.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lab", "validate", "--stack", "onprem"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert re.match(
        r"^error: .*Pulumi\.onprem\.yaml:\d+: lab\.onprem\.storage_klass: unknown key 'storage_klass' \(did you mean 'storage_class'\?\)",
        lines[0],
    )
    assert "Traceback" not in result.output


def test_plan_json_to_a_path_that_cannot_be_written_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    result = runner.invoke(
        app, ["lab", "plan", "--stack", "onprem", "--no-tree", "--json", str(tmp_path / "a-file" / "plan.json")]
    )
    assert result.exit_code == 2, result.output
    assert f"error: {tmp_path / 'a-file' / 'plan.json'}: cannot write it (File exists: {tmp_path / 'a-file'})" in result.output
    assert "Traceback" not in result.output


def test_markup_in_names_is_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stack name or kubeconfig context with '[/x]' in it is printed (or refused) as text, not parsed as rich markup."""
    bad_stack = runner.invoke(app, ["lab", "plan", "--stack", "a[/b]"])
    assert bad_stack.exit_code == 2, bad_stack.output
    assert "error: stack 'a[/b]': a stack name is letters" in bad_stack.output

    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    text = (
        (REPO / "stacks" / "Pulumi.onprem.yaml")
        .read_text()
        .replace("kubeconfig_context: ailab-onprem", "kubeconfig_context: ctx[/x]")
    )
    (tmp_path / "stacks" / "Pulumi.onprem.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    validated = runner.invoke(app, ["lab", "validate"])
    assert validated.exit_code == 0, validated.output
    assert "ok onprem: onprem ctx[/x]," in validated.output
    listed = runner.invoke(app, ["lab", "stacks"])
    assert listed.exit_code == 0, listed.output
    assert "ctx[/x]" in listed.output


def test_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["lab", "validate"])
    assert result.exit_code == 2
    assert "no Pulumi.yaml here or above; run from the ailab project or set AILAB_PROJECT_DIR" in result.output


def test_backend_defaults_to_a_private_local_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AILAB_BACKEND_URL", raising=False)
    result = runner.invoke(app, ["lab", "backend"])
    assert result.output.strip() == f"file://{tmp_path / 'home' / 'state'}"
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "home" / "state").stat().st_mode & 0o777 == 0o700


def test_a_data_dir_that_cannot_be_made_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.delenv("AILAB_BACKEND_URL", raising=False)
    for home in (tmp_path / "a-file", tmp_path / "a-file" / "ailab"):
        monkeypatch.setenv("AILAB_HOME", str(home))
        result = runner.invoke(app, ["lab", "backend"])
        assert result.exit_code == 2, result.output
        assert result.output.startswith(f"error: {home}: ailab cannot keep its data there (")
        assert result.output.strip().endswith("set AILAB_HOME to a directory of yours")


def test_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILAB_BACKEND_URL", "s3://lab-state/ailab?region=eu-central-1")
    assert runner.invoke(app, ["lab", "backend"]).output.strip() == "s3://lab-state/ailab?region=eu-central-1"


def test_validate_warns_when_the_stack_keeps_the_example_passphrase() -> None:
    result = runner.invoke(app, ["lab", "validate", "--stack", "onprem"])
    assert result.exit_code == 0
    assert "warning: stack onprem: its secrets are encrypted with the published example passphrase" in result.output


def test_plan_refuses_a_directory_for_json_before_planning(tmp_path) -> None:
    result = runner.invoke(app, ["lab", "plan", "--stack", "onprem", "--json", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory; give a file name for the plan" in result.output
    assert "resources" not in result.output


def test_plan_reads_like_a_preview() -> None:
    """Counts as policy check counts them (resources, not components or providers), node groups, outputs, a summary."""
    from ailab.plan.lab import plan_lab
    from ailab.policy.loaders.plan import records_from_plan

    result = runner.invoke(app, ["lab", "plan", "--stack", "aws-eu", "--no-tree"])
    assert result.exit_code == 0, result.output
    records = records_from_plan(plan_lab("aws-eu").to_json(), "plan")
    resources = [r for r in records if not r.type.startswith("pulumi:providers:")]
    assert f"+ {len(resources)} to create  (" in result.output
    assert f"  {len(resources)}  in all" in result.output
    assert "Node groups" in result.output and "p5.48xlarge" in result.output
    assert "Outputs" in result.output and "[secret]" in result.output
