"""The real catalogue over the real example stacks, planned offline: `ailab policy check --stack` end to end."""

from __future__ import annotations

import json

import pytest
from tests.policy.support import REPO
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.policy.model import all_rules

runner = CliRunner()


@pytest.mark.parametrize("stack", ["aws-eu", "onprem"])
def test_stack_checks_end_to_end(stack, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("AILAB_PROJECT_DIR", raising=False)
    waivers = str(REPO / "policies" / "waivers.example.yaml")
    result = runner.invoke(
        app, ["policy", "check", "--stack", stack, "--waivers", waivers, "-f", "json,sarif,html", "-o", str(tmp_path)]
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / f"policy-{stack}.json").read_text())
    assert report["summary"]["records"] > 20
    assert report["summary"]["rules"] == len(all_rules())
    errors = [finding["message"] for finding in report["findings"] if finding["status"] == "error"]
    assert not errors, errors  # every rule runs on every resource of the lab
    assert (tmp_path / f"policy-{stack}.sarif").is_file() and (tmp_path / f"policy-{stack}.html").is_file()
    assert result.exit_code == (1 if report["summary"]["blocking"] else 0)


@pytest.mark.parametrize("stack", ["aws-eu", "onprem"])
def test_sandbox_operator_bind_by_name_needs_no_waiver(stack, tmp_path, monkeypatch):
    """The operator ClusterRole binds only the in-sandbox role (resourceNames): AILAB-RBAC-002 accepts it unwaived."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("AILAB_PROJECT_DIR", raising=False)
    result = runner.invoke(app, ["policy", "check", "--stack", stack, "-f", "json", "-o", str(tmp_path)])
    report = json.loads((tmp_path / f"policy-{stack}.json").read_text())
    findings = [f for f in report["findings"] if f["rule"] == "AILAB-RBAC-002"]
    assert not findings, result.output
