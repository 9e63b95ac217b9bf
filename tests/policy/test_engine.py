from __future__ import annotations

import datetime as dt

import pytest
from tests.policy.support import CRASHING, LATEST, PRIVILEGED, QUOTA_RULE, TEST_RULES, deployment, make_rule, namespace

from ailab.errors import BadInputError
from ailab.policy.engine import Status, evaluate, rules_for_frameworks
from ailab.policy.model import Control, Evidence, Record, RuleContext, Severity, Violation
from ailab.policy.waivers import Selector, Waiver, WaiverState


def test_resource_rules_run_on_matching_types_only(sample_records):
    report = evaluate(sample_records, rules=TEST_RULES)
    by_rule = {(f.rule.id, f.record.name if f.record else None) for f in report.findings}
    assert by_rule == {("AILAB-TEST-001", "web"), ("AILAB-TEST-002", "web"), ("AILAB-TEST-003", "team-a")}
    assert report.record_count == 3
    assert len(report.rules) == 3


def test_finding_carries_rule_record_message_and_evidence(sample_records):
    report = evaluate(sample_records, rules=[PRIVILEGED])
    (finding,) = report.findings
    assert finding.rule is PRIVILEGED
    assert finding.record is not None and finding.record.urn.endswith("::web")
    assert finding.record.source == "manifests/app.yaml" and finding.record.line == 3
    assert finding.message == "container 'main' is privileged"
    assert finding.evidence == (Evidence("spec.template.spec.containers[0].securityContext.privileged", True),)
    assert finding.status is Status.FAILED


def test_stack_rule_names_its_record(sample_records):
    (finding,) = evaluate(sample_records, rules=[QUOTA_RULE]).findings
    assert finding.record is not None and finding.record.name == "team-a"


def test_stack_rule_without_record_is_a_stack_finding():
    rule = make_rule("AILAB-TEST-010", lambda records, context: [Violation("no quota anywhere")], scope="stack")
    (finding,) = evaluate([], rules=[rule]).findings
    assert finding.record is None


def test_crashing_rule_becomes_an_error_finding_and_the_run_goes_on(sample_records):
    report = evaluate(sample_records, rules=[CRASHING, PRIVILEGED])
    errors = report.errors()
    assert len(errors) == 2  # one per Deployment
    assert "AILAB-TEST-004 could not run on urn:pulumi:dev::lab::kubernetes:apps/v1:Deployment::" in errors[0].message
    assert "KeyError: 'boom'" in errors[0].message and "support.py:" in errors[0].message
    assert len(report.failed()) == 1  # the other rule still ran
    # An error blocks whatever the threshold: an unchecked resource is not a compliant one.
    assert all(error in report.blocking(Severity.CRITICAL) for error in errors)


def test_crashing_stack_rule_is_an_error_without_record():
    def crash(records, context):
        raise RuntimeError("broken")

    rule = make_rule("AILAB-TEST-011", crash, scope="stack")
    (finding,) = evaluate([namespace("a")], rules=[rule]).findings
    assert finding.status is Status.ERROR and finding.record is None and "RuntimeError: broken" in finding.message


def test_rule_yielding_then_crashing_keeps_what_it_found():
    def partial(record, context):
        yield Violation("first")
        raise ValueError("then broke")

    statuses = [f.status for f in evaluate([deployment()], rules=[make_rule("AILAB-TEST-012", partial)]).findings]
    assert sorted(statuses) == [Status.ERROR, Status.FAILED]


def test_glob_and_empty_types():
    seen: list[str] = []

    def record_type(record, context):
        seen.append(record.type)
        return ()

    aws = make_rule("AILAB-TEST-013", record_type, types=("aws:*",))
    everything = make_rule("AILAB-TEST-014", record_type, types=())
    records = [deployment(), Record("aws:s3/bucket:Bucket", "b", "urn:b", {}), Record("aws:kms/key:Key", "k", "urn:k", {})]
    evaluate(records, rules=[aws])
    assert seen == ["aws:s3/bucket:Bucket", "aws:kms/key:Key"]
    seen.clear()
    evaluate(records, rules=[everything])
    assert len(seen) == 3


def test_context_reaches_rules():
    got: list[RuleContext] = []
    rule = make_rule("AILAB-TEST-015", lambda record, context: got.append(context) or ())
    context = RuleContext(allowed_registries=("ghcr.io/acme",))
    evaluate([deployment()], rules=[rule], context=context)
    assert got == [context]


def test_counts_by_severity_and_framework(sample_records):
    report = evaluate(sample_records, rules=TEST_RULES)
    assert list(report.counts_by_severity()) == [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]
    assert report.counts_by_severity() == {Severity.CRITICAL: 1, Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 1}
    frameworks = report.counts_by_framework()
    assert list(frameworks) == ["eudpr", "iso27001", "cis-k8s"]  # FRAMEWORKS order
    assert frameworks["eudpr"][Severity.CRITICAL] == 1 and frameworks["eudpr"][Severity.LOW] == 1
    assert frameworks["iso27001"][Severity.MEDIUM] == 1


def test_blocking_threshold(sample_records):
    report = evaluate(sample_records, rules=TEST_RULES)
    assert [f.rule.id for f in report.blocking(Severity.CRITICAL)] == ["AILAB-TEST-001"]
    assert len(report.blocking(Severity.MEDIUM)) == 2
    assert len(report.blocking(Severity.LOW)) == 3


def test_findings_sorted_most_severe_first(sample_records):
    report = evaluate(sample_records, rules=TEST_RULES)
    ranks = [f.severity.rank for f in report.findings]
    assert ranks == sorted(ranks, reverse=True)


def test_fingerprint_is_stable_and_ignores_the_wording(sample_records):
    first = evaluate(sample_records, rules=[PRIVILEGED]).findings[0]
    reworded = make_rule(
        "AILAB-TEST-001",
        lambda r, c: [Violation("reworded", (Evidence("spec.template.spec.containers[0].securityContext.privileged", True),))],
    )
    second = evaluate(sample_records[:1], rules=[reworded]).findings[0]
    assert first.fingerprint == second.fingerprint
    assert len(first.fingerprint) == 32
    other = evaluate([deployment("other", privileged=True)], rules=[PRIVILEGED]).findings[0]
    assert other.fingerprint != first.fingerprint


def test_default_rules_are_the_catalogue(monkeypatch):
    calls = []
    monkeypatch.setattr("ailab.policy.engine.all_rules", lambda: calls.append(1) or {PRIVILEGED.id: PRIVILEGED})
    report = evaluate([deployment(privileged=True)])
    assert calls and [f.rule.id for f in report.findings] == [PRIVILEGED.id]


def test_rules_for_frameworks():
    assert rules_for_frameworks(TEST_RULES, []) == list(TEST_RULES)
    assert rules_for_frameworks(TEST_RULES, ["iso27001"]) == [LATEST]
    with pytest.raises(BadInputError, match="unknown framework"):
        rules_for_frameworks(TEST_RULES, ["sox"])


def _waiver(rule_id="AILAB-TEST-001", *, expires=dt.date(2030, 1, 1), **selector) -> Waiver:
    return Waiver(rule_id, Selector(**selector), "accepted risk, see LAB-1", "ciso@example.eu", expires, "w.yaml", 4)


def test_waiver_waives_matching_finding(sample_records):
    report = evaluate(sample_records, rules=TEST_RULES, waivers=[_waiver(name="w*")], today=dt.date(2026, 1, 1))
    waived = report.waived()
    assert [f.rule.id for f in waived] == ["AILAB-TEST-001"]
    assert waived[0].waiver is not None and waived[0].waiver.approver == "ciso@example.eu"
    assert PRIVILEGED.id not in {f.rule.id for f in report.blocking(Severity.LOW)}
    (use,) = report.waivers
    assert use.state is WaiverState.ACTIVE and use.matched == 1


def test_expired_waiver_no_longer_waives_and_is_reported(sample_records):
    waiver = _waiver(name="web", expires=dt.date(2025, 12, 31))
    report = evaluate(sample_records, rules=TEST_RULES, waivers=[waiver], today=dt.date(2026, 1, 1))
    assert not report.waived()
    finding = next(f for f in report.failed() if f.rule.id == PRIVILEGED.id)
    assert finding.waiver == waiver  # shown as "waiver expired"
    assert report.waivers[0].state is WaiverState.EXPIRED
    assert report.waiver_problems() == list(report.waivers)


def test_waiver_valid_through_its_expiry_day(sample_records):
    waiver = _waiver(name="web", expires=dt.date(2026, 1, 1))
    assert evaluate(sample_records, rules=TEST_RULES, waivers=[waiver], today=dt.date(2026, 1, 1)).waived()


def test_unused_and_not_evaluated_waivers(sample_records):
    unused = _waiver(name="nothing-matches")
    other_rule = _waiver("AILAB-TEST-099", name="web")
    report = evaluate(sample_records, rules=TEST_RULES, waivers=[unused, other_rule], today=dt.date(2026, 1, 1))
    assert [use.state for use in report.waivers] == [WaiverState.UNUSED, WaiverState.NOT_EVALUATED]
    assert report.waiver_problems() == [report.waivers[0]]


def test_selector_fields_all_must_match(sample_records):
    wrong_type = _waiver(name="web", type="kubernetes:core/v1:Pod")
    by_urn = _waiver(urn="urn:pulumi:dev::lab::kubernetes:apps/v1:Deployment::web")
    report = evaluate(sample_records, rules=[PRIVILEGED], waivers=[wrong_type, by_urn], today=dt.date(2026, 1, 1))
    assert [use.state for use in report.waivers] == [WaiverState.UNUSED, WaiverState.ACTIVE]


def test_valid_waiver_wins_over_expired_one(sample_records):
    old = _waiver(name="web", expires=dt.date(2020, 1, 1))
    new = _waiver(name="w*")
    report = evaluate(sample_records, rules=[PRIVILEGED], waivers=[old, new], today=dt.date(2026, 1, 1))
    assert report.waived()[0].waiver == new
    assert [use.state for use in report.waivers] == [WaiverState.EXPIRED, WaiverState.ACTIVE]


def test_errors_are_never_waived():
    report = evaluate([deployment()], rules=[CRASHING], waivers=[_waiver(CRASHING.id, name="*")], today=dt.date(2026, 1, 1))
    assert report.errors() and not report.waived()


def test_ten_thousand_records_evaluate_quickly():
    import time

    records = [deployment(f"d{i}", privileged=i % 2 == 0, image="x:latest") for i in range(10_000)]
    start = time.perf_counter()
    report = evaluate(records, rules=TEST_RULES)
    assert time.perf_counter() - start < 5  # generous: the shared CI machine; the benchmark measures properly
    assert len(report.failed()) == 5_000 + 10_000


def test_controls_must_be_known_frameworks():
    with pytest.raises(ValueError, match="unknown framework"):
        Control("sox", "404")


def test_accepts_a_record_set_and_a_rule_mapping(sample_records):
    from ailab.policy.model import RecordSet

    report = evaluate(RecordSet(sample_records), rules={rule.id: rule for rule in TEST_RULES})
    assert len(report.findings) == 3 and report.sources == ("manifests/app.yaml",)
