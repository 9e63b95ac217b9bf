from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

import pytest
from tests.policy.support import CRASHING, TEST_RULES, deployment, make_rule

from ailab.policy.engine import Report, evaluate
from ailab.policy.model import MISSING, Evidence, Severity, Violation
from ailab.policy.report import FORMATS, parse_formats, render, suffix
from ailab.policy.report.common import TOOL_NAME, TOOL_VERSION, framework_name
from ailab.policy.waivers import Selector, Waiver

TODAY = dt.date(2026, 1, 1)


@pytest.fixture
def report(sample_records) -> Report:
    waivers = [
        Waiver(
            "AILAB-TEST-002",
            Selector(name="web"),
            "pinned in the next release <b>LAB-7</b>",
            "ciso@example.eu",
            dt.date(2026, 6, 30),
            "w.yaml",
            2,
        ),
        Waiver("AILAB-TEST-001", Selector(name="nothing"), "old exception", "ciso@example.eu", dt.date(2025, 1, 1), "w.yaml", 8),
        Waiver("AILAB-TEST-003", Selector(name="unused"), "never matches", "ciso@example.eu", dt.date(2027, 1, 1), "w.yaml", 14),
    ]
    records = [*sample_records, deployment("broken")]
    return evaluate(
        records, rules=[*TEST_RULES, CRASHING], waivers=waivers, today=TODAY, sources=["manifests/app.yaml", "plan.json"]
    )


def test_formats():
    assert FORMATS == ("console", "json", "sarif", "junit", "md", "html")
    assert parse_formats("SARIF, html,sarif") == ["sarif", "html"]
    assert parse_formats("markdown,md,Markdown") == ["md"]  # the README's name for it
    assert suffix("junit") == ".junit.xml"
    with pytest.raises(Exception, match="use one or more of"):
        parse_formats("pdf")


# --- JSON -------------------------------------------------------------------------------------


def test_json_report(report):
    data = json.loads(render(report, "json", Severity.HIGH))
    assert data["schema"] == "ailab.policy.report/v1"
    assert data["passed"] is False and data["fail_on"] == "high"
    summary = data["summary"]
    assert summary["records"] == 4 and summary["rules"] == 4
    assert (summary["failed"], summary["waived"], summary["errors"]) == (2, 1, 3)
    assert summary["blocking"] == 4  # the critical finding and three rule errors
    assert summary["by_severity"] == {"critical": 1, "high": 0, "medium": 0, "low": 1}
    assert summary["by_framework"]["eudpr"]["critical"] == 1
    first = data["findings"][0]
    assert first["rule"] == "AILAB-TEST-001" and first["blocking"] is True and first["status"] == "failed"
    assert first["resource"] == {
        "type": "kubernetes:apps/v1:Deployment",
        "name": "web",
        "urn": "urn:pulumi:dev::lab::kubernetes:apps/v1:Deployment::web",
        "source": "manifests/app.yaml",
        "line": 3,
    }
    assert first["evidence"] == [
        {"path": "spec.template.spec.containers[0].securityContext.privileged", "value": True, "present": True}
    ]
    assert first["frameworks"] == ["cis-k8s", "eudpr"]
    rule = next(r for r in data["rules"] if r["id"] == "AILAB-TEST-001")
    assert rule["controls"][0] == {
        "framework": "eudpr",
        "ref": "Art. 33",
        "title": "Security of processing",
        "label": "Regulation (EU) 2018/1725 (EUDPR) Art. 33",
    }
    waived = next(f for f in data["findings"] if f["status"] == "waived")
    assert waived["waiver"]["approver"] == "ciso@example.eu" and waived["blocking"] is False
    assert [w["state"] for w in data["waivers"]] == ["active", "expired", "unused"]
    assert {r["id"] for r in data["rules"]} == {"AILAB-TEST-001", "AILAB-TEST-002", "AILAB-TEST-003", "AILAB-TEST-004"}


def test_json_report_values_are_plain_json(sample_records):
    odd = make_rule(
        "AILAB-TEST-020",
        lambda r, c: [Violation("odd", (Evidence("a", MISSING), Evidence("b", dt.date(2026, 1, 2)), Evidence("c", {"x", "y"})))],
    )
    data = json.loads(render(evaluate(sample_records[:1], rules=[odd]), "json", Severity.HIGH))
    assert data["findings"][0]["evidence"] == [
        {"path": "a", "value": None, "present": False},
        {"path": "b", "value": "2026-01-02", "present": True},
        {"path": "c", "value": ["x", "y"], "present": True},
    ]


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_structure(report):
    log = json.loads(render(report, "sarif", Severity.HIGH))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "ailab policy" and driver["version"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    rule = rules["AILAB-TEST-001"]
    assert rule["shortDescription"]["text"] == "title of AILAB-TEST-001"
    assert rule["fullDescription"]["text"] == "why AILAB-TEST-001"
    assert "fix AILAB-TEST-001" in rule["help"]["text"] and "Art. 33" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["security-severity"] == "9.5"
    assert rule["properties"]["controls"][1]["framework"] == "cis-k8s"
    assert rules["AILAB-TEST-002"]["defaultConfiguration"]["level"] == "warning"
    assert rules["AILAB-TEST-003"]["defaultConfiguration"]["level"] == "note"

    results = run["results"]
    assert len(results) == 3  # two failed, one waived; rule errors are notifications
    manifest = next(r for r in results if r["ruleId"] == "AILAB-TEST-001")
    assert manifest["level"] == "error"
    assert driver["rules"][manifest["ruleIndex"]]["id"] == "AILAB-TEST-001"
    (location,) = manifest["locations"]
    assert location["physicalLocation"] == {"artifactLocation": {"uri": "manifests/app.yaml"}, "region": {"startLine": 3}}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "urn:pulumi:dev::lab::kubernetes:apps/v1:Deployment::web"
    assert re.fullmatch(r"[0-9a-f]{32}", manifest["partialFingerprints"]["ailabFinding/v1"])
    assert "suppressions" not in manifest

    waived = next(r for r in results if r["ruleId"] == "AILAB-TEST-002")
    (suppression,) = waived["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"].startswith("pinned in the next release")
    assert suppression["properties"] == {"approver": "ciso@example.eu", "expires": "2026-06-30"}

    stack_finding = next(r for r in results if r["ruleId"] == "AILAB-TEST-003")
    assert stack_finding["locations"][0]["logicalLocations"][0]["name"] == "team-a"
    assert "physicalLocation" not in stack_finding["locations"][0]  # a plan record without a file

    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert len(invocation["toolExecutionNotifications"]) == 3
    assert invocation["toolExecutionNotifications"][0]["associatedRule"]["id"] == "AILAB-TEST-004"
    _assert_sarif_shape(log)


def test_sarif_fingerprints_are_stable_across_runs(sample_records):
    first = json.loads(render(evaluate(sample_records, rules=TEST_RULES), "sarif", Severity.HIGH))
    second = json.loads(render(evaluate(list(reversed(sample_records)), rules=TEST_RULES), "sarif", Severity.HIGH))

    def prints(log):
        return sorted(r["partialFingerprints"]["ailabFinding/v1"] for r in log["runs"][0]["results"])

    assert prints(first) == prints(second)
    assert len(set(prints(first))) == len(prints(first))


def test_sarif_absolute_paths_are_file_uris(tmp_path):
    from ailab.policy.report.sarif import _artifact

    assert _artifact(str(tmp_path / "a b.yaml"))["uri"].startswith("file:///")
    assert _artifact("dir/a b.yaml") == {"uri": "dir/a%20b.yaml"}


LEVELS = {"none", "note", "warning", "error"}
SUPPRESSION_STATUS = {"accepted", "underReview", "rejected"}


def _assert_sarif_shape(log: dict) -> None:
    """The SARIF 2.1.0 schema's constraints on what this renderer emits (the schema is not vendored)."""
    assert set(log) <= {"$schema", "version", "runs", "inlineExternalProperties", "properties"}
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        ids = [rule["id"] for rule in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert set(rule) <= {
                "id",
                "name",
                "shortDescription",
                "fullDescription",
                "help",
                "defaultConfiguration",
                "properties",
                "helpUri",
            }
            for key in ("shortDescription", "fullDescription", "help"):
                assert isinstance(rule[key]["text"], str) and rule[key]["text"]
            assert rule["defaultConfiguration"]["level"] in LEVELS
            assert isinstance(rule["properties"]["tags"], list)
        for result in run["results"]:
            assert isinstance(result["message"]["text"], str)
            assert result["level"] in LEVELS
            assert 0 <= result["ruleIndex"] < len(ids) and ids[result["ruleIndex"]] == result["ruleId"]
            for location in result["locations"]:
                physical = location.get("physicalLocation")
                if physical:
                    assert isinstance(physical["artifactLocation"]["uri"], str)
                    if "region" in physical:
                        assert physical["region"]["startLine"] >= 1
                for logical in location.get("logicalLocations", []):
                    assert set(logical) <= {"name", "fullyQualifiedName", "kind", "decoratedName", "index", "parentIndex"}
            assert all(isinstance(value, str) for value in result["partialFingerprints"].values())
            for suppression in result.get("suppressions", []):
                assert suppression["kind"] in {"inSource", "external"}
                assert suppression["status"] in SUPPRESSION_STATUS
        for invocation in run["invocations"]:
            assert isinstance(invocation["executionSuccessful"], bool)
            for note in invocation.get("toolExecutionNotifications", []):
                assert note["level"] in LEVELS and note["message"]["text"]


# --- JUnit ------------------------------------------------------------------------------------


def test_junit(report):
    root = ET.fromstring(render(report, "junit", Severity.HIGH))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "1", "3", "2")
    suites = {suite.get("name").split()[0]: suite for suite in root}
    critical = suites["AILAB-TEST-001"]
    (case,) = critical
    assert case.get("name") == "manifests/app.yaml:3"
    assert case.find("failure").get("type") == "critical"
    assert "remediation: fix AILAB-TEST-001" in case.find("failure").text
    assert suites["AILAB-TEST-002"].find("testcase/skipped").get("message").startswith("waived until 2026-06-30")
    assert "advisory (low" in suites["AILAB-TEST-003"].find("testcase/skipped").get("message")
    assert len(suites["AILAB-TEST-004"].findall("testcase/error")) == 3


def test_junit_passing_rule_is_one_passing_case(sample_records):
    root = ET.fromstring(render(evaluate(sample_records[1:2], rules=TEST_RULES[:1]), "junit", Severity.HIGH))
    (suite,) = root
    (case,) = suite
    assert case.get("name") == "all 1 resources checked" and len(case) == 0
    assert root.get("failures") == "0"


def test_junit_is_well_formed_xml_whatever_the_names():
    """XML 1.0 has no escape for most control characters; a resource name carrying one must not break the file."""
    records = [deployment("bell\x07name", privileged=True)]
    text = render(evaluate(records, rules=TEST_RULES[:1]), "junit", Severity.HIGH)
    (case,) = ET.fromstring(text).find("testsuite")
    assert case.get("name") == "urn:pulumi:dev::lab::kubernetes:apps/v1:Deployment::bell\ufffdname"


# --- Markdown ---------------------------------------------------------------------------------


def test_markdown(report):
    text = render(report, "md", Severity.HIGH)
    assert text.startswith("## ❌ ailab policy check failed: 1 finding(s) at or above high and 3 rule error(s)")
    assert "| critical | 1 | 0 |" in text and "| rule errors | 3 | |" in text
    assert "Regulation (EU) 2018/1725 (EUDPR)" in text
    assert "### Blocking findings (at or above high)" in text
    assert "`AILAB-TEST-001` | manifests/app.yaml:3 |" in text
    assert "<summary>1 advisory finding(s) below high</summary>" in text
    assert "&lt;b&gt;LAB-7&lt;/b&gt;" in text  # no raw HTML from waiver text
    assert "- **expired**: `AILAB-TEST-001`" in text and "- **unused**: `AILAB-TEST-003`" in text


def test_markdown_passing(sample_records):
    text = render(evaluate(sample_records[1:2], rules=TEST_RULES), "md", Severity.HIGH)
    assert text.startswith("## ✅ ailab policy check passed")


# --- HTML -------------------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped(report):
    page = render(report, "html", Severity.HIGH)
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page
    assert "&lt;b&gt;LAB-7&lt;/b&gt;" in page and "<b>LAB-7</b>" not in page
    assert page.count("<tr data-severity=") == len(report.findings)
    assert 'data-status="waived"' in page and 'data-frameworks="cis-k8s eudpr"' in page
    for element in ('id="f-text"', 'id="f-sev"', 'id="f-status"', 'id="f-fw"'):
        assert element in page
    assert "Regulation (EU) 2018/1725 (EUDPR)" in page
    assert "spec.template.spec.containers[0].securityContext.privileged" in page
    assert "old exception" in page and ">expired<" in page


# --- console ----------------------------------------------------------------------------------


def test_console(report):
    from rich.console import Console

    from ailab.policy.report.console import print_report

    console = Console(record=True, width=160)
    print_report(report, Severity.HIGH, console, max_findings=1)
    text = console.export_text()
    assert "Findings by severity" in text and "Failed findings by framework" in text
    assert "AILAB-TEST-001" in text and "manifests/app.yaml:3" in text
    assert "… 1 more findings" in text
    assert "rule error rule AILAB-TEST-004 could not run" in text
    assert "waiver expired w.yaml:8" in text and "waiver unused w.yaml:14" in text
    assert "failed: 1 finding(s) at or above high and 3 rule error(s)" in text


def test_console_prints_waiver_selectors_as_text_not_markup(tmp_path):
    """A selector glob like ``[ab]*`` and an approver in brackets reach the console verbatim."""
    import io

    from rich.console import Console

    from ailab.policy.report.console import print_report
    from ailab.policy.waivers import load_waivers

    waivers_file = tmp_path / "waivers.yaml"
    waivers_file.write_text(
        "waivers:\n"
        "  - rule: AILAB-TEST-001\n"
        "    selector: {name: '[ab]*-web', type: 'kubernetes:apps/v1:Deployment'}\n"
        "    justification: nothing matches it\n"
        "    approver: '[bold]ciso[/bold]'\n"
        "    expires: 2099-01-01\n"
    )
    report = evaluate(
        [], rules=TEST_RULES, waivers=load_waivers(waivers_file, {rule.id for rule in TEST_RULES}), today=dt.date(2026, 1, 1)
    )
    stream = io.StringIO()
    print_report(report, Severity.HIGH, Console(file=stream, width=300, color_system=None))
    text = stream.getvalue()
    assert "name: [ab]*-web, type: kubernetes:apps/v1:Deployment" in text
    assert "approved by [bold]ciso[/bold]" in text


# --- fit for a sign-off -------------------------------------------------------------------------


def test_html_for_a_sign_off(report):
    import dataclasses

    signed = dataclasses.replace(report, inputs=(("manifests/app.yaml", "ab" * 32),))
    page = render(signed, "html", Severity.HIGH)
    waived_rule = next(f.rule for f in report.waived())
    framework = sorted(waived_rule.frameworks())[0]
    row = re.search(rf"<tr><td>{re.escape(framework_name(framework))}</td>(.*?)</tr>", page)
    assert row is not None and row.group(1).endswith('<td class="n w">1</td>')  # the waived count, per framework
    assert 'id="expand-all"' in page and 'id="collapse-all"' in page and 'class="toggle"' in page
    assert "@media print" in page and ".more{display:block!important}" in page
    assert page.count("<b>Why:</b>") == len(report.findings)
    assert waived_rule.rationale.split()[0] in page
    assert f"{TOOL_NAME} {TOOL_VERSION}" in page
    assert "<code>manifests/app.yaml</code></td><td><code>" + "ab" * 32 in page
    data = json.loads(render(signed, "json", Severity.HIGH))
    assert data["inputs"] == [{"path": "manifests/app.yaml", "sha256": "ab" * 32}]
    noted = dataclasses.replace(signed, notes=("k8s/Chart.yaml: a Helm chart's metadata; skipped",))
    run = json.loads(render(noted, "sarif", Severity.HIGH))["runs"][0]
    assert run["artifacts"] == [{"location": {"uri": "manifests/app.yaml"}, "hashes": {"sha-256": "ab" * 32}}]
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert notifications[0] == {"level": "note", "message": {"text": "k8s/Chart.yaml: a Helm chart's metadata; skipped"}}
    assert data["summary"]["waived_by_framework"][framework] == 1


def test_console_lists_waived_findings(report):
    from rich.console import Console

    from ailab.policy.report.console import print_report

    console = Console(record=True, width=160)
    print_report(report, Severity.HIGH, console)
    text = console.export_text()
    assert "Waived findings" in text
    assert "pinned in the next release <b>LAB-7</b>" in text and "approved by ciso@example.eu, expires 2026-06-30" in text
