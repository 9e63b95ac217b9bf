"""RFC 8785 canonicalisation, on the RFC's own examples (§3.2.2, §3.2.3 and Appendix B's numbers)."""

from __future__ import annotations

import json
import struct

import pytest

from ailab.trail.jcs import NotCanonicalizableError, canonical_value, canonicalize, number

# Appendix B: IEEE-754 bit patterns and their ECMAScript spelling.
APPENDIX_B = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "expected"), APPENDIX_B)
def test_appendix_b_numbers(bits: str, expected: str) -> None:
    assert number(struct.unpack(">d", bytes.fromhex(bits))[0]) == expected


def test_section_3_2_2_example() -> None:
    source = r"""{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonicalize(json.loads(source)) == expected.encode("utf-8")


def test_section_3_2_3_sorting_by_utf16_code_units() -> None:
    source = r"""{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"}"""
    names = list(json.loads(canonicalize(json.loads(source))))
    assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53 + 1, "\ud800", {1: "x"}, {"a": object()}, b"bytes"])
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(NotCanonicalizableError):
        canonicalize(value)


def test_integers_and_nesting() -> None:
    assert (
        canonicalize({"b": [1, -2, 2**53], "a": {"y": None, "x": "\u007f\t"}})
        == b'{"a":{"x":"\x7f\\t","y":null},"b":[1,-2,9007199254740992]}'
    )


@pytest.mark.parametrize(
    "line",
    [b'{"a":1.0}', b'{"a":12345678901234567890}', b'{"b":1,"a":2}', b'{"a":1e400}', b'{"a": 1}', b'{"a":"\\u0041"}',
     '{"\u00e9":1,"e":2}'.encode(), b'{"a":1E+30}', b'{"a":-0}'],
)  # fmt: skip
def test_canonical_value_refuses_every_other_spelling(line: bytes) -> None:
    with pytest.raises(ValueError):
        canonical_value(line)


@pytest.mark.parametrize(
    "value", [{"a": 1e30, "b": [0.5, -3]}, {"é": "ü", "e": 2**53}, {"k": "x:1234567890123456789"}, [None, True]]
)
def test_canonical_value_accepts_what_canonicalize_writes(value: object) -> None:
    assert canonical_value(canonicalize(value)) == value
