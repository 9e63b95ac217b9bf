"""Fuzzing the loaders: whatever the input, a list of records or a one-line BadInputError, never a crash."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ailab.errors import BadInputError
from ailab.policy.loaders import records_from_manifest_text, records_from_plan, records_from_preview, records_from_state
from ailab.policy.model import Record

KEYS = st.sampled_from(
    [
        "format", "resources", "urn", "type", "name", "custom", "parent", "provider", "dependencies", "inputs",
        "outputs", "steps", "op", "newState", "changeSummary", "deployment", "delete", "apiVersion", "kind",
        "metadata", "items", "namespace", "spec", "4dabf18193072939515e22adb298388d",
    ]
)  # fmt: skip
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from(["ailab.plan/v1", "create", "v1", "List"])
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), children, max_size=6),
    max_leaves=40,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _records_or_bad_input(load, *args) -> None:
    try:
        records = load(*args)
    except BadInputError as error:
        assert "\n" not in str(error)
        return
    assert isinstance(records, list) and all(isinstance(record, Record) for record in records)


@FUZZ
@given(JSONISH)
def test_plan_loader(data):
    if isinstance(data, dict):
        data.setdefault("format", "ailab.plan/v1")
    _records_or_bad_input(records_from_plan, data, "plan.json")


@FUZZ
@given(JSONISH)
def test_preview_loader(data):
    _records_or_bad_input(records_from_preview, data, "preview.json")


@FUZZ
@given(JSONISH)
def test_state_loader(data):
    _records_or_bad_input(records_from_state, data, "state.json")


@FUZZ
@given(st.lists(JSONISH, min_size=1, max_size=3))
def test_manifest_loader_structured(documents):
    text = yaml.safe_dump_all(documents)
    _records_or_bad_input(records_from_manifest_text, text, "m.yaml")
    _records_or_bad_input(records_from_manifest_text, json.dumps(documents[0]), "m.json")


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,?\n\t 0123.~<=")), max_size=80))
def test_manifest_loader_text(text):
    _records_or_bad_input(records_from_manifest_text, text, "m.yaml")
    _records_or_bad_input(records_from_manifest_text, text, "m.json")


@FUZZ
@given(st.binary(max_size=60))
def test_manifest_loader_any_characters(raw):
    text = raw.decode("utf-8", errors="replace")
    _records_or_bad_input(records_from_manifest_text, text, "m.yaml")


@FUZZ
@given(JSONISH)
def test_waivers_loader(data):
    from ailab.policy.waivers import parse_waivers
    from ailab.safeload import Document

    if isinstance(data, dict) and isinstance(data.get("waivers"), list):
        pass
    elif isinstance(data, list):
        data = {"waivers": data}
    try:
        waivers = parse_waivers(Document(data, "w.yaml"), {"AILAB-K8S-001"})
    except BadInputError as error:
        assert "\n" not in str(error)
        return
    assert all(waiver.rule_id == "AILAB-K8S-001" for waiver in waivers)
