"""The fast construction path of ailab.safeload must mean exactly what PyYAML's safe loader means."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ailab.errors import BadInputError
from ailab.safeload import load_json, load_yaml, read_text

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(values, min_size=1, max_size=3), st.sampled_from([None, "'", '"']), st.booleans())
def test_same_values_as_pyyaml(documents, style, flow):
    text = yaml.safe_dump_all(documents, default_style=style, default_flow_style=flow, allow_unicode=True)
    expected = [document for document in yaml.safe_load_all(text) if document is not None]
    assert [document.data for document in load_yaml(text, "x")] == expected


def test_other_tags_go_through_the_safe_constructor():
    (document,) = load_yaml("a: 2024-01-02\nb: 0x1f\nc: ~\nd: yes\ne: !!set {x}\nf: !!binary aGk=\ng: 1.5e+3\n", "x")
    assert document.data == {"a": dt.date(2024, 1, 2), "b": 31, "c": None, "d": True, "e": {"x"}, "f": b"hi", "g": 1500.0}


def test_merge_keys_override_but_own_keys_may_not_repeat():
    (document,) = load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "x")
    assert document.data["d"] == {"x": 1, "y": 3}
    with pytest.raises(BadInputError, match="x:5: key 'y' appears twice"):
        load_yaml("base: &b {x: 1}\nd:\n  <<: *b\n  y: 3\n  y: 4\n", "x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml:4: key 'c' appears twice in the same mapping; keep one"),
        ("? [1]\n: 2\n", "f.yaml:1: a mapping key must be a plain value"),
        ("a: !!python/object/apply:os.system [id]\n", "f.yaml:1:4: YAML syntax error: could not determine a constructor"),
        ("a: &x [*x]\n", "recursive YAML alias"),
        ("a: [\n", "f.yaml:2:1: YAML syntax error"),
        ("a: " + "[" * 2000 + "]" * 2000, "f.yaml:1:.*nesting depth"),
        ("a: 1\nb: 2027-02-30\n", r"f.yaml:2: '2027-02-30' is not a valid date or time \(day is out of range for month\)"),
        ("a: [2026-12-06T25:61:00Z]\n", r"f.yaml:1: '2026-12-06T25:61:00Z' is not a valid date or time \(hour must be"),
        ("a:\n  - " + "7" * 5000 + "\n", r"f.yaml:2: '7{39}…' is not a valid integer \(5000 digits is too many\)"),
    ],
)
def test_errors(text, message):
    with pytest.raises(BadInputError, match=message):
        load_yaml(text, "f.yaml")


def test_duplicate_keys_are_errors_without_line_tracking_too():
    with pytest.raises(BadInputError, match="appears twice"):
        load_yaml("a: 1\na: 2\n", "f.yaml", track_lines=False)


def test_alias_bomb_refused_even_in_flow_context():
    bomb = '{"a": &a [1,1,1,1,1,1,1,1,1,1], "b": &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], "c": &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]}'
    with pytest.raises(BadInputError, match="alias bomb"):
        load_yaml(bomb, "f.yaml", max_nodes=500)


def test_line_depth_limits_the_index():
    text = "a:\n  b:\n    - 1\n    - c: 2\n"
    assert load_yaml(text, "f")[0].lines == {("a",): 1, ("a", "b"): 2, ("a", "b", 0): 3, ("a", "b", 1): 4, ("a", "b", 1, "c"): 4}
    assert load_yaml(text, "f", line_depth=2)[0].lines == {("a",): 1, ("a", "b"): 2}
    assert load_yaml(text, "f", track_lines=False)[0].lines == {}


def test_document_start_lines_and_empty_documents():
    documents = load_yaml("# c\na: 1\n---\n---\nb: 2\n", "f")
    assert [(d.data, d.line, d.index) for d in documents] == [({"a": 1}, 2, 0), ({"b": 2}, 5, 2)]


def test_garbage_collector_is_restored():
    assert gc.isenabled()
    load_yaml("a: 1\n", "f")
    load_json("{}", "f")
    assert gc.isenabled()
    with pytest.raises(BadInputError):
        load_yaml("a: [", "f")
    assert gc.isenabled()


def test_json_top_level_lines():
    text = '\n{\n  "kind": "List",\n  "items": [\n    {"a": "]"},\n\n    {"b": [1, {"c": 2}]}\n  ],\n  "x": {"y": 1}\n}\n'
    document = load_json(text, "f.json", track_lines=True)
    assert document.data == json.loads(text)
    assert document.line == 2
    assert document.lines == {("kind",): 3, ("items",): 4, ("items", 0): 5, ("items", 1): 7, ("x",): 9}
    assert load_json(text, "f.json").lines == {}


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=5), values, max_size=5), st.integers(min_value=0, max_value=2))
def test_json_lines_of_any_object(data, indent):
    text = json.dumps(data, indent=indent or None)
    document = load_json(text, "f.json", track_lines=True)
    assert document.data == data
    assert {path[0] for path in document.lines} == set(data)


def test_json_numbers_past_pythons_digit_limit_are_refused():
    with pytest.raises(BadInputError, match=r"x\.json: a number has more than 4,300 digits"):
        load_json('{"a": ' + "9" * 5000 + "}", "x.json")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_devices_are_refused_before_reading(device):
    with pytest.raises(BadInputError, match=f"{device}: not a regular file"):
        read_text(Path(device))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "input.yaml"
    os.mkfifo(fifo)
    with pytest.raises(BadInputError, match="not a regular file"):
        read_text(fifo)


def test_the_byte_cap_holds_even_when_the_size_was_checked_first(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a" * 101)
    with pytest.raises(BadInputError, match=r"big\.yaml: 101 bytes is over the 100 bytes limit"):
        read_text(big, max_bytes=100)
    assert read_text(big, max_bytes=101) == "a" * 101
