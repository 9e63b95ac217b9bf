from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.policy.support import REPO

from ailab.errors import BadInputError
from ailab.policy.waivers import Selector, load_waivers

KNOWN = {"AILAB-K8S-001", "AILAB-AWS-002"}

GOOD = """\
waivers:
  - rule: AILAB-K8S-001
    selector: {name: "mlflow-*", type: "kubernetes:apps/v1:Deployment"}
    justification: MLflow needs it until 3.2 (LAB-118).
    approver: ciso@example.eu
    expires: 2026-03-31
  - rule: AILAB-AWS-002
    selector:
      urn: "urn:pulumi:aws-eu::ailab::aws:s3/bucket:Bucket::logs"
    justification: " Access logs bucket. "
    approver: dpo@example.eu
    expires: "2026-12-31"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


def test_loads_a_valid_file(tmp_path):
    first, second = load_waivers(_write(tmp_path, GOOD), KNOWN)
    assert first.rule_id == "AILAB-K8S-001"
    assert first.selector == Selector(name="mlflow-*", type="kubernetes:apps/v1:Deployment")
    assert first.expires == dt.date(2026, 3, 31)
    assert first.line == 2 and first.location.endswith("waivers.yaml:2")
    assert second.justification == "Access logs bucket."
    assert second.expires == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("AILAB-K8S-001", "AILAB-K8S-999"), r"waivers.yaml:2: waiver 1: unknown rule 'AILAB-K8S-999'"),
        (GOOD.replace("rule: AILAB-K8S-001", "rule: [AILAB-K8S-001]"), r"waiver 1: unknown rule \[.AILAB-K8S-001.\]"),
        (GOOD.replace("rule: AILAB-K8S-001", "rule: {id: AILAB-K8S-001}"), r"waiver 1: unknown rule \{.id.: .AILAB-K8S-001.\}"),
        (GOOD.replace("    approver: ciso@example.eu\n", ""), r":2: waiver 1: approver required"),
        (GOOD.replace("    justification: MLflow needs it until 3.2 (LAB-118).\n", ""), "justification required"),
        (GOOD.replace("2026-03-31", "next spring"), "expires 'next spring' is not a date; write YYYY-MM-DD"),
        (GOOD.replace('{name: "mlflow-*", type: "kubernetes:apps/v1:Deployment"}', "{namespace: x}"), "unknown selector field"),
        (GOOD.replace('{name: "mlflow-*", type: "kubernetes:apps/v1:Deployment"}', "{}"), "selector required"),
        (
            GOOD.replace('{name: "mlflow-*", type: "kubernetes:apps/v1:Deployment"}', "{name: null}"),
            "at least one of urn, name, type",
        ),
        (GOOD.replace("    expires: 2026-03-31\n", "    expires: 2026-03-31\n    owner: me\n"), "unknown field"),
        ("- a\n- b\n", "expected a mapping with a 'waivers' list"),
        ("waivers:\n  - just text\n", "waiver 1: expected a mapping"),
        ("waivers: []\n---\nwaivers: []\n", "one YAML document"),
        ("waivers:\n  - rule: [\n", "YAML syntax error"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(BadInputError, match=message.replace("(", r"\(").replace(")", r"\)").replace("'", ".")) as error:
        load_waivers(_write(tmp_path, text), KNOWN)
    assert "\n" not in str(error.value)


def test_empty_file_has_no_waivers(tmp_path):
    assert load_waivers(_write(tmp_path, "# nothing yet\n"), KNOWN) == []


def test_missing_file(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        load_waivers(tmp_path / "absent.yaml", KNOWN)


def test_example_file_is_valid_against_the_catalogue():
    from ailab.policy.model import all_rules

    catalogue = all_rules()
    if not catalogue:
        pytest.skip("the rule catalogue is empty")
    waivers = load_waivers(REPO / "policies" / "waivers.example.yaml", catalogue.keys())
    assert waivers and all(w.rule_id in catalogue for w in waivers)
