"""``ailab policy``: check every input format, write every report, exit 0/1/2; rules and explain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.policy.support import DATA, REPO, TEST_RULES, make_rule
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.policy.model import RuleContext

runner = CliRunner()
APP_YAML = str(DATA / "manifests" / "app.yaml")


@pytest.fixture(autouse=True)
def _test_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands see the test rules, not the real catalogue (tests of the latter live in test_catalogue_cli)."""
    monkeypatch.setattr("ailab.policy.model.all_rules", lambda: {rule.id: rule for rule in TEST_RULES})
    monkeypatch.chdir(REPO)


def _waivers(tmp_path: Path, rule: str = "AILAB-TEST-001", expires: str = "2099-01-01") -> str:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        f"waivers:\n  - rule: {rule}\n    selector: {{name: web}}\n    justification: test\n    approver: me\n    expires: {expires}\n"
    )
    return str(path)


def test_check_manifests_fails_on_the_critical_finding():
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML])
    assert result.exit_code == 1, result.output
    assert "AILAB-TEST-001" in result.output and "app.yaml" in result.output
    assert "failed: 1 finding(s) at or above high" in result.output


def test_fail_on_threshold():
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "--fail-on", "critical"])
    assert result.exit_code == 1
    waived = runner.invoke(app, ["policy", "check", "--manifests", str(DATA / "manifests" / "sub"), "--fail-on", "low"])
    assert waived.exit_code == 0, waived.output  # nothing in sub/ the test rules flag


def test_waiver_turns_the_verdict(tmp_path):
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "--waivers", _waivers(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1 waived" in result.output


def test_expired_waiver_is_reported_and_does_not_waive(tmp_path):
    result = runner.invoke(
        app, ["policy", "check", "--manifests", APP_YAML, "--waivers", _waivers(tmp_path, expires="2020-01-01")]
    )
    assert result.exit_code == 1
    assert "waiver expired" in result.output


def test_unknown_rule_in_waivers_is_bad_input(tmp_path):
    result = runner.invoke(
        app, ["policy", "check", "--manifests", APP_YAML, "--waivers", _waivers(tmp_path, rule="AILAB-NOPE-001")]
    )
    assert result.exit_code == 2
    assert "unknown rule 'AILAB-NOPE-001'" in result.output


def test_every_format_to_a_directory(tmp_path):
    out = tmp_path / "reports"
    result = runner.invoke(
        app, ["policy", "check", "--manifests", APP_YAML, "-f", "console,json,sarif,junit,md,html", "--output", str(out)]
    )
    assert result.exit_code == 1, result.output
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "policy-app.html",
        "policy-app.json",
        "policy-app.junit.xml",
        "policy-app.md",
        "policy-app.sarif",
    ]
    assert json.loads((out / "policy-app.sarif").read_text())["version"] == "2.1.0"
    assert "Findings by severity" in result.output


def test_one_format_to_stdout():
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["summary"]["failed"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json,sarif"], "several formats need --output DIR"),
        (["--format", "pdf"], "use one or more of console, json"),
        (["--fail-on", "severe"], "severity 'severe'"),
        (["--framework", "sox"], "unknown framework(s) sox"),
        (["--framework", "ai-act"], "no rules to check"),
    ],
)
def test_bad_arguments_exit_2(args, message):
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_nothing_to_check():
    result = runner.invoke(app, ["policy", "check"])
    assert result.exit_code == 2 and "nothing to check" in result.output


def test_output_must_be_a_directory(tmp_path):
    file = tmp_path / "file"
    file.write_text("")
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "-f", "json", "-o", str(file)])
    assert result.exit_code == 2 and "is a file" in result.output


def test_bad_manifest_is_one_line_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n")
    result = runner.invoke(app, ["policy", "check", "--manifests", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {bad}:5: key 'name' appears twice in the same mapping; keep one"


def test_framework_filter(tmp_path):
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "--framework", "iso27001", "-f", "json"])
    data = json.loads(result.stdout)
    assert [rule["id"] for rule in data["rules"]] == ["AILAB-TEST-002"]
    assert result.exit_code == 0  # the medium finding is below high


@pytest.mark.parametrize(
    ("option", "name", "count"), [("--plan", "plan.json", 3), ("--preview", "preview.json", 3), ("--state", "state.json", 4)]
)
def test_pulumi_inputs(option, name, count):
    result = runner.invoke(app, ["policy", "check", option, str(DATA / name), "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["summary"]["records"] == count and data["sources"] == [str(DATA / name)]


def test_inputs_combine():
    result = runner.invoke(
        app,
        [
            "policy",
            "check",
            "--plan",
            str(DATA / "plan.json"),
            "-m",
            APP_YAML,
            "-m",
            str(DATA / "manifests" / "sub"),
            "-f",
            "json",
        ],
    )
    assert json.loads(result.stdout)["summary"]["records"] == 3 + 4 + 2


def test_rules_and_explain():
    listing = runner.invoke(app, ["policy", "rules", "--json"])
    assert [rule["id"] for rule in json.loads(listing.stdout)] == ["AILAB-TEST-001", "AILAB-TEST-002", "AILAB-TEST-003"]
    table = runner.invoke(app, ["policy", "rules"])
    assert table.exit_code == 0 and "AILAB-TEST-003" in table.output
    explained = runner.invoke(app, ["policy", "explain", "ailab-test-001"])
    assert explained.exit_code == 0
    assert "why AILAB-TEST-001" in explained.output and "Regulation (EU) 2018/1725 (EUDPR) Art. 33" in explained.output
    assert "Source: tests/policy/support.py:" in explained.output
    unknown = runner.invoke(app, ["policy", "explain", "AILAB-TEST-01"])
    assert unknown.exit_code == 2 and "did you mean AILAB-TEST-001" in unknown.output


def test_rules_markdown(tmp_path):
    target = tmp_path / "rules.md"
    result = runner.invoke(app, ["policy", "rules", "--markdown", str(target)])
    assert result.exit_code == 0
    assert "## AILAB-TEST-002" in target.read_text()


def test_stack_option_plans_and_checks(tmp_path, monkeypatch):
    """--stack orchestrates plan and check in the CLI; the allowed registries come from the spec."""
    seen: list[RuleContext] = []
    spy = make_rule("AILAB-TEST-030", lambda record, context: seen.append(context) or (), types=())
    monkeypatch.setattr("ailab.policy.model.all_rules", lambda: {spy.id: spy})
    plan = json.loads((DATA / "plan.json").read_text())

    class FakePlan:
        def to_json(self):
            return plan

    monkeypatch.setattr("ailab.plan.lab.plan_lab", lambda stack, project=None: FakePlan())
    result = runner.invoke(app, ["policy", "check", "--stack", "aws-eu", "-f", "json", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "policy-aws-eu.json").read_text())
    assert data["sources"] == ["stacks/Pulumi.aws-eu.yaml"]
    assert data["summary"]["records"] == 3
    assert "ghcr.io/mlflow" in seen[0].allowed_registries
    assert "eu-central-1" in seen[0].allowed_regions and "eu-west-2" not in seen[0].allowed_regions


def test_missing_stack_is_bad_input():
    result = runner.invoke(app, ["policy", "check", "--stack", "nowhere"])
    assert result.exit_code == 2 and "no such stack file" in result.output


def test_cli_module_imports_only_typer_at_top_level():
    import subprocess
    import sys

    code = "import sys, ailab.cli.policy; print(sorted(m for m in sys.modules if m.startswith(('ailab.policy', 'rich', 'yaml'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unwritable_output_is_one_line_bad_input(tmp_path):
    """--output under a file: exit 2 naming the path, no traceback, nothing half-written."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = runner.invoke(app, ["policy", "rules", "--markdown", str(blocker / "rules.md")])
    assert result.exit_code == 2
    assert "cannot write it" in result.output and "Traceback" not in result.output


def test_a_repository_folder_is_checked_with_notes_on_what_was_skipped(tmp_path):
    (tmp_path / "app.yaml").write_text((DATA / "manifests" / "app.yaml").read_text())
    (tmp_path / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 1.0.0\n")
    result = runner.invoke(app, ["policy", "check", "--manifests", str(tmp_path), "-f", "json"])
    assert result.exit_code == 1, result.output
    notes = json.loads(result.output)["notes"]
    assert [note.split(": ", 1)[1] for note in notes] == [
        "a Helm chart's metadata; skipped",
        "a kustomization; check the output of kustomize build; skipped",
    ]
    console = runner.invoke(app, ["policy", "check", "--manifests", str(tmp_path)])
    assert "a kustomization; check the output of kustomize build; skipped" in console.output


def test_manifest_findings_point_at_the_line_of_the_property(tmp_path):
    result = runner.invoke(app, ["policy", "check", "--manifests", APP_YAML, "-f", "json,sarif", "-o", str(tmp_path)])
    assert result.exit_code == 1, result.output
    report = json.loads(next(tmp_path.glob("*.json")).read_text())
    privileged = next(f for f in report["findings"] if f["rule"] == "AILAB-TEST-001")
    assert privileged["resource"]["line"] == 14  # `privileged: true`, not the Deployment's first line (2)
    sarif = json.loads(next(tmp_path.glob("*.sarif")).read_text())
    result_ = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AILAB-TEST-001")
    assert result_["locations"][0]["physicalLocation"]["region"] == {"startLine": 14}


def test_report_files_are_named_after_the_input(tmp_path):
    from ailab.cli.policy import report_stem

    assert report_stem(None, [DATA / "manifests"]) == "policy-manifests"
    assert report_stem(None, [Path("k8s/app.yaml")]) == "policy-app"
    assert report_stem(None, [Path("preview.json")]) == "policy-preview"
    assert report_stem("aws-eu", [Path("plan.json")]) == "policy-aws-eu"
    assert report_stem(None, [Path("a.yaml"), Path("b.yaml")]) == "policy-report"
    assert report_stem(None, [Path("we ird;$(x).yaml")]) == "policy-we_ird_x"
    assert report_stem(None, [Path(".")]) == f"policy-{Path.cwd().name}"
    result = runner.invoke(app, ["policy", "check", "-m", str(DATA / "manifests" / "sub"), "-f", "md", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert [path.name for path in tmp_path.iterdir()] == ["policy-sub.md"]


def test_stack_with_plan_is_refused_in_one_line():
    result = runner.invoke(app, ["policy", "check", "--stack", "aws-eu", "--plan", str(DATA / "plan.json")])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0
    assert "--stack already plans the stack; give one of them" in result.output


@pytest.mark.parametrize(
    "files",
    [
        {"empty.yaml": ""},
        {"comments.yaml": "# nothing here\n---\n# nor here\n"},
        {f"empty-{index}.yaml": "" for index in range(200)},
        {"Chart.yaml": "apiVersion: v2\nname: x\nversion: 1.0.0\n"},
    ],
    ids=["empty-file", "only-comments", "folder-of-empty-files", "only-skipped"],
)
def test_an_empty_input_is_nothing_to_check(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    target = str(tmp_path / next(iter(files))) if len(files) == 1 else str(tmp_path)
    result = runner.invoke(app, ["policy", "check", "--manifests", target])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: nothing to check:") or "nothing to check:" in result.output
    assert "--allow-empty" in result.output and result.output.strip().count("\n") == 0
    allowed = runner.invoke(app, ["policy", "check", "--manifests", target, "--allow-empty", "-f", "json"])
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output)["summary"]["records"] == 0


def test_the_report_records_each_input_and_its_sha256(tmp_path):
    import hashlib

    result = runner.invoke(app, ["policy", "check", "--manifests", str(DATA / "manifests"), "-f", "json"])
    inputs = json.loads(result.output)["inputs"]
    assert [Path(item["path"]).name for item in inputs] == ["app.yaml", "list.json"]
    for item in inputs:
        assert item["sha256"] == hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest()


def test_policy_check_of_a_stack_warns_about_the_example_passphrase() -> None:
    from typer.testing import CliRunner

    from ailab.cli.app import app

    result = CliRunner().invoke(app, ["policy", "check", "--stack", "onprem", "--waivers", "policies/waivers.example.yaml"])
    assert "warning: stack onprem: its secrets are encrypted with the published example passphrase" in result.output
