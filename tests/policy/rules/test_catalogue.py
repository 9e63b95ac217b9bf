"""The rule catalogue: every rule has metadata, a passing and a failing fixture, and never decides
on a value it cannot see. The checks are called through the registry, not through the engine.

A fixture file (``fixtures/<RULE-ID>/pass.yaml`` and ``fail.yaml``) is a mapping::

    context: {allowed_registries: [...], allowed_regions: [...]}   # optional
    expect:                                                          # fail.yaml only
      - {path: spec.type, value: NodePort, record: web}              # value and record optional
    resources:
      - apiVersion: v1                 # a Kubernetes manifest (type token from apiVersion and kind)
        kind: Service
        ...
      - type: aws:s3/bucket:Bucket     # or a record as an input loader would produce it
        name: artifacts
        properties: {...}
        dependsOn: [other-name]        # shorthand for dependencies: the URNs of records with that name
        provider: provider-name        # shorthand for the URN of the provider record that manages it
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from ailab.policy.loaders.manifests import type_token
from ailab.policy.model import MISSING, Record, RecordSet, Rule, RuleContext, StackRule, Violation, all_rules
from ailab.policy.run import Crash, run_rule

FIXTURES = Path(__file__).parent / "fixtures"


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:test::ailab::{type_}::{name}"


def to_records(resources: Iterable[dict[str, Any]]) -> list[Record]:
    """Records from fixture entries (manifests or records), resolving ``dependsOn`` names to URNs."""
    entries = []
    for item in resources:
        if "type" in item:
            type_, name, properties = item["type"], item["name"], item.get("properties", {})
        else:
            type_, name, properties = type_token(item["apiVersion"], item["kind"]), item["metadata"]["name"], item
        entries.append((type_, name, properties, item))
    urns: dict[str, list[str]] = {}
    for type_, name, _, item in entries:
        urns.setdefault(name, []).append(item.get("urn", urn(type_, name)))
    records = []
    for type_, name, properties, item in entries:
        dependencies = list(item.get("dependencies", ()))
        for other in item.get("dependsOn", ()):
            dependencies.extend(urns[other])
        provider = urns[item["provider"]][0] if "provider" in item else None
        records.append(
            Record(
                type=type_,
                name=name,
                urn=item.get("urn", urn(type_, name)),
                properties=properties,
                dependencies=tuple(dependencies),
                provider=provider,
            )
        )
    return records


@dataclass
class Fixture:
    path: Path
    records: list[Record]
    context: RuleContext
    expect: list[dict[str, Any]] = field(default_factory=list)


def load_fixture(path: Path) -> Fixture:
    data = yaml.safe_load(path.read_text())
    context = data.get("context") or {}
    return Fixture(
        path=path,
        records=to_records(data["resources"]),
        context=RuleContext.from_lab(
            allowed_registries=context.get("allowed_registries", ()), allowed_regions=context.get("allowed_regions", ())
        ),
        expect=data.get("expect") or [],
    )


def violations_of(rule: Rule, records: list[Record], context: RuleContext | None = None) -> list[Violation]:
    """Run one rule as the engine would: resource rules on the records of their types, stack rules on all."""
    context = context or RuleContext()
    if isinstance(rule, StackRule):
        outcomes = run_rule(rule, RecordSet(records), context)
    else:
        outcomes = [outcome for record in records if rule.applies_to(record.type) for outcome in run_rule(rule, record, context)]
    found: list[Violation] = []
    for outcome in outcomes:
        if isinstance(outcome, Crash):
            raise outcome.error
        found.append(outcome)
    return found


def placeholder_variant(value: Any, placeholder: str) -> Any:
    """``value`` with every scalar leaf replaced by ``placeholder`` (keys and structure kept)."""
    if isinstance(value, dict):
        return {key: placeholder_variant(item, placeholder) for key, item in value.items()}
    if isinstance(value, list):
        return [placeholder_variant(item, placeholder) for item in value]
    return placeholder


def fixture_paths() -> Iterator[Path]:
    return iter(sorted(FIXTURES.glob("*/*.yaml")))


RULES = all_rules()
RULE_IDS = sorted(RULES)
PLACEHOLDERS = ("[unknown]", "[secret]")
ID_PATTERN = re.compile(r"^AILAB-(AWS|K8S|NET|RBAC|GOV|SVC|SUP|DEP)-\d{3}$")
REF_PATTERNS = {
    "eudpr": re.compile(r"^Art\. \d+(\(\d+\))?(\([a-z]\))?$"),
    "gdpr": re.compile(r"^Art\. \d+(\(\d+\))?(\([a-z]\))?$"),
    "ai-act": re.compile(r"^Art\. \d+(\(\d+\))?(\([a-z]\))?$"),
    "iso27001": re.compile(r"^A\.[5-8]\.\d{1,2}$"),
    "cis-k8s": re.compile(r"^5\.\d\.\d{1,2}$"),
    "cis-eks": re.compile(r"^[2-5]\.\d\.\d{1,2}$"),
    "nsa-cisa": re.compile(r"^[A-Z][A-Za-z ]+$"),
}


def test_catalogue_size() -> None:
    assert len(RULES) >= 40


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_metadata(rule_id: str) -> None:
    rule = RULES[rule_id]
    assert ID_PATTERN.match(rule.id)
    assert rule.title and rule.title[0].isupper() and not rule.title.endswith(".")
    assert rule.rationale.endswith(".") and len(rule.rationale) > 40
    assert rule.remediation.endswith((".", ")")) and len(rule.remediation) > 20
    assert rule.controls, "a rule must map to at least one control"
    assert len(set(rule.controls)) == len(rule.controls), "a control is cited twice"
    for control in rule.controls:
        assert REF_PATTERNS[control.framework].match(control.ref), control
        assert control.title
    assert rule.types


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_has_fixtures(rule_id: str) -> None:
    for kind in ("pass", "fail"):
        assert (FIXTURES / rule_id / f"{kind}.yaml").is_file(), f"{rule_id} lacks fixtures/{rule_id}/{kind}.yaml"


def test_no_fixtures_for_unknown_rules() -> None:
    assert {path.name for path in FIXTURES.iterdir() if path.is_dir()} <= set(RULES)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_failing_fixture(rule_id: str) -> None:
    fixture = load_fixture(FIXTURES / rule_id / "fail.yaml")
    violations = violations_of(RULES[rule_id], fixture.records, fixture.context)
    assert violations, f"{rule_id}: fail.yaml produced no finding"
    for violation in violations:
        assert violation.message
        assert violation.evidence, f"{rule_id}: a finding without evidence: {violation.message}"
        assert all(evidence.path for evidence in violation.evidence)
        assert violation.record is not None, f"{rule_id}: a stack rule's finding must name its record"
    assert fixture.expect, f"{rule_id}: fail.yaml must say which evidence it expects"
    for expected in fixture.expect:
        matches = [
            v
            for v in violations
            for e in v.evidence
            if e.path == expected["path"]
            and (
                "value" not in expected
                or e.value == expected["value"]
                or (expected["value"] == "<missing>" and e.value is MISSING)
            )
            and ("record" not in expected or (v.record is not None and v.record.name == expected["record"]))
        ]
        assert matches, f"{rule_id}: no finding with evidence {expected}; got {[(v.message, v.evidence) for v in violations]}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_passing_fixture(rule_id: str) -> None:
    fixture = load_fixture(FIXTURES / rule_id / "pass.yaml")
    violations = violations_of(RULES[rule_id], fixture.records, fixture.context)
    assert not violations, [(v.message, v.evidence) for v in violations]


def _is_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return value in PLACEHOLDERS
    return isinstance(value, list) and bool(value) and all(isinstance(item, str) and item in PLACEHOLDERS for item in value)


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_never_decides_on_placeholders(rule_id: str, placeholder: str) -> None:
    """With every value of the failing fixture hidden, no finding may rest on a hidden value."""
    fixture = load_fixture(FIXTURES / rule_id / "fail.yaml")
    hidden = [replace(r, properties=placeholder_variant(r.properties, placeholder)) for r in fixture.records]
    for violation in violations_of(RULES[rule_id], hidden, fixture.context):
        for evidence in violation.evidence:
            assert not _is_placeholder(evidence.value), f"{rule_id} decided on {evidence}: {violation.message}"


def hidden_variants(value: Any, path: str = "", *, leaves: bool = False) -> Iterator[tuple[str, Callable[[str], Any]]]:
    """``(path, hide)`` for every object and list nested in ``value`` (at any depth, list items included), or with
    ``leaves`` for every scalar: ``hide(placeholder)`` is a copy of ``value`` with that one value replaced by
    ``placeholder``."""
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any, str]] = (
            (key, item, f"{path}.{key}" if path else str(key)) for key, item in value.items()
        )
    elif isinstance(value, list):
        items = ((index, item, f"{path}[{index}]") for index, item in enumerate(value))
    else:
        return
    for key, item, item_path in items:
        nested = isinstance(item, dict | list)
        if nested != leaves:
            yield item_path, lambda placeholder, key=key: _with(value, key, placeholder)
        if nested:
            for inner_path, hide in hidden_variants(item, item_path, leaves=leaves):
                yield inner_path, lambda placeholder, key=key, hide=hide: _with(value, key, hide(placeholder))


def _with(container: Any, key: Any, item: Any) -> Any:
    copy = dict(container) if isinstance(container, dict) else list(container)
    copy[key] = item
    return copy


def _findings_with_one_value_hidden(rule_id: str, placeholder: str, *, leaves: bool) -> list[str]:
    fixture = load_fixture(FIXTURES / rule_id / "pass.yaml")
    failures = []
    for index, record in enumerate(fixture.records):
        for path, hide in hidden_variants(record.properties, leaves=leaves):
            records = list(fixture.records)
            records[index] = replace(record, properties=hide(placeholder))
            for violation in violations_of(RULES[rule_id], records, fixture.context):
                failures.append(f"{record.name}: {path} = {placeholder} -> {violation.message} {violation.evidence}")
    return failures


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_never_decides_on_hidden_objects(rule_id: str, placeholder: str) -> None:
    """Hiding any one object or list of the passing fixture (Pulumi shows a whole value as a placeholder) adds no
    finding: a hidden object or list is not an absent one, and what it might hold cannot be judged."""
    failures = _findings_with_one_value_hidden(rule_id, placeholder, leaves=False)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_never_decides_on_one_hidden_value(rule_id: str, placeholder: str) -> None:
    """Hiding any one scalar of the passing fixture adds no finding either: a finding that revealing the value
    would take back rests on that value."""
    failures = _findings_with_one_value_hidden(rule_id, placeholder, leaves=True)
    assert not failures, "\n".join(failures)


def test_hidden_variants_cover_every_nested_value() -> None:
    value = {"a": {"b": [1, {"c": []}]}, "d": "x"}
    variants = dict(hidden_variants(value))
    assert sorted(variants) == ["a", "a.b", "a.b[1]", "a.b[1].c"]
    assert variants["a.b[1]"]("[secret]") == {"a": {"b": [1, "[secret]"]}, "d": "x"}
    assert variants["a.b[1].c"]("[unknown]") == {"a": {"b": [1, {"c": "[unknown]"}]}, "d": "x"}
    assert sorted(dict(hidden_variants(value, leaves=True))) == ["a.b[0]", "d"]
    assert value == {"a": {"b": [1, {"c": []}]}, "d": "x"}  # the fixture itself is left alone


def test_all_rules_on_all_fixtures() -> None:
    """Every rule copes with every fixture's records (other themes' shapes included) without raising."""
    records = [record for path in fixture_paths() for record in load_fixture(path).records]
    for rule in RULES.values():
        violations_of(rule, records)
