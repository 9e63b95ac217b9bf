"""Every bad input of a plan is one line naming the file, the line and the key, exit 2; a good plan validates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.eval.conftest import write_plan
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.errors import BadInputError
from ailab.eval.data import load_data
from ailab.eval.plan import load_plan

runner = CliRunner()

GOOD = (
    "  - {id: accuracy, kind: performance, metric: balanced_accuracy, min: 0.6}\n"
    "  - {id: parity-sex, kind: fairness, metric: demographic_parity_difference, sensitive_feature: sex, max: 0.1}\n"
    "  - {id: noise, kind: robustness, perturbation: gaussian_noise, scale: 0.1, max_drop: 0.05}\n"
    "  - {id: membership, kind: privacy, attack: membership_inference, max_advantage: 0.1}\n"
)


@pytest.fixture
def folder(fair_setup: Path, tmp_path: Path) -> Path:
    for name in ("train.csv", "test.csv"):
        shutil.copy(fair_setup / name, tmp_path / name)
    return tmp_path


def test_the_issue_example_validates(folder: Path):
    plan = write_plan(folder, GOOD)
    result = runner.invoke(app, ["eval", "validate", str(plan)])
    assert result.exit_code == 0, result.output
    assert "valid: 4 checks on 2,000 rows" in result.output


@pytest.mark.parametrize(
    ("checks", "line", "expected"),
    [
        (
            "  - {id: a, kind: performance, metric: balanced_accuracy, min: 0.6, colour: red}\n",
            12,
            "plan.checks[0].colour: unknown key 'colour'",
        ),
        ("  - {id: a, kind: performance, metric: balanced_acuracy, min: 0.6}\n", 12, "did you mean 'balanced_accuracy'?"),
        (
            "  - {id: a, kind: performance, metric: balanced_accuracy, max: 0.6}\n",
            12,
            "plan.checks[0].max: balanced_accuracy is better when higher: declare its threshold as 'min'",
        ),
        (
            "  - {id: a, kind: fairness, metric: demographic_parity_difference, sensitive_feature: sex, min: 0.1}\n",
            12,
            "declare its threshold as 'max'",
        ),
        (
            "  - {id: a, kind: fairness, metric: demographic_parity_ratio, sensitive_feature: sex, min: 1.5}\n",
            12,
            "outside [0, 1]",
        ),
        (
            "  - {id: a, kind: fairness, metric: demographic_parity_difference, sensitive_feature: age, max: 0.1}\n",
            12,
            "plan.checks[0].sensitive_feature: 'age' is not in dataset.sensitive_features",
        ),
        (
            "  - {id: a, kind: robustness, perturbation: gaussian_noise, scale: 0.1, max_success_rate: 0.1}\n",
            12,
            "declares its threshold as 'max_drop'",
        ),
        ("  - {id: a, kind: speed, metric: x}\n", 12, "kind must be one of performance, fairness, robustness, privacy"),
        (
            "  - {id: a, kind: performance, metric: accuracy, min: 0.5}\n  - {id: a, kind: performance, metric: f1, min: 0.5}\n",
            13,
            "check id 'a' appears twice",
        ),
    ],
)
def test_bad_plans_are_one_line_with_file_line_and_key(folder: Path, checks: str, line: int, expected: str):
    plan = write_plan(folder, checks)
    result = runner.invoke(app, ["eval", "validate", str(plan)])
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.count("\n") == 0, message
    assert message.startswith(f"error: {plan}:{line}: plan."), message
    assert expected in message
    assert "Traceback" not in message


def test_privacy_without_training_rows_names_the_key(folder: Path):
    plan = write_plan(folder, "  - {id: m, kind: privacy, attack: membership_inference, max_advantage: 0.1}\n", train=False)
    with pytest.raises(
        BadInputError, match=r"plan.yaml:11: plan.checks\[0\].attack: membership inference needs the training rows"
    ):
        load_plan(plan)


def test_sensitive_feature_absent_from_the_data(folder: Path):
    plan = write_plan(folder, GOOD.replace("sex", "gender"))
    text = plan.read_text().replace("sensitive_features: [sex]", "sensitive_features: [gender]")
    plan.write_text(text)
    with pytest.raises(BadInputError) as caught:
        load_data(load_plan(plan))
    assert str(caught.value).startswith(f"{plan}:8: plan.dataset.sensitive_features[0]: 'gender' is not a column of")


def test_label_that_is_not_binary(folder: Path):
    frame = (folder / "test.csv").read_text().splitlines()
    frame[1] = frame[1].rsplit(",", 1)[0] + ",2"
    (folder / "test.csv").write_text("\n".join(frame) + "\n")
    with pytest.raises(BadInputError, match=r"plan.yaml:7: plan.dataset.label: 'approved' has more than two distinct values"):
        load_data(load_plan(write_plan(folder, GOOD)))


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda folder: (folder / "test.csv").unlink(), "test.csv does not exist"),
        (lambda folder: ((folder / "test.csv").unlink(), (folder / "test.csv").mkdir()), "is not a regular file"),
        (lambda folder: (folder / "test.csv").write_bytes(b"a,b\n1,2,3,4\n"), "is not a readable CSV file"),
    ],
)
def test_unreadable_data_is_bad_input(folder: Path, setup, expected: str):
    plan = write_plan(folder, GOOD)
    setup(folder)
    result = runner.invoke(app, ["eval", "validate", str(plan)])
    assert result.exit_code == 2
    assert f"{plan}:6: plan.dataset.path:" in result.output and expected in result.output


def test_malformed_and_oversized_and_device_plans(tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: ailab.eu/v1\nkind: [EvaluationPlan\n")
    assert "YAML syntax error" in runner.invoke(app, ["eval", "validate", str(broken)]).output
    big = tmp_path / "big.yaml"
    big.write_text("#" * (2 * 2**20))
    result = runner.invoke(app, ["eval", "validate", str(big)])
    assert result.exit_code == 2 and "over the 1.0 MiB limit" in result.output
    result = runner.invoke(app, ["eval", "validate", "/dev/zero"])
    assert result.exit_code == 2 and "not a regular file" in result.output


def test_checks_json_and_explain():
    result = runner.invoke(app, ["eval", "checks", "--json"])
    assert result.exit_code == 0
    import json

    ids = [check["id"] for check in json.loads(result.output)["checks"]]
    assert {"balanced_accuracy", "demographic_parity_difference", "evasion", "membership_inference"} <= set(ids)
    explained = runner.invoke(app, ["eval", "explain", "demographic_parity_difference"])
    assert "Art. 10(2)(f)-(g)" in explained.output
    unknown = runner.invoke(app, ["eval", "explain", "demographic_parity"])
    assert unknown.exit_code == 2 and "did you mean 'demographic_parity_ratio'?" in unknown.output
