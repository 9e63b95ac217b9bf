"""RFC 8785 JSON Canonicalization Scheme: the one byte encoding of a JSON value that is hashed and signed.

Strings are escaped as ECMAScript's ``JSON.stringify`` does (only ``"``, ``\\`` and the C0 controls,
the latter as ``\\b \\t \\n \\f \\r`` or lowercase ``\\u00xx``), object members are sorted by the
UTF-16 code units of their names, and numbers are written as ECMAScript writes an IEEE-754 double
(shortest round-trip digits, exponent form below 1e-6 and from 1e21). Python's ``repr`` of a float
already gives the shortest round-trip digits; only their layout differs.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_MAX_SAFE_INTEGER = 2**53
_LONG_NUMBER = re.compile(rb"[:,\[]-?[0-9]{16}")
_escape = json.encoder.encode_basestring  # C-accelerated, ECMAScript-compatible escaping


class NotCanonicalizableError(ValueError):
    """The value has no RFC 8785 form (NaN, an infinity, an unsafe integer, a lone surrogate, a non-JSON type)."""


def canonical_value(line: bytes) -> Any:
    """The JSON value ``line`` holds, if ``line`` is exactly its RFC 8785 encoding; ValueError otherwise.

    Verifying a million records spends most of its time here, so the usual case (no fractional
    numbers, ASCII member names) is checked with the C encoder, whose output is then the RFC 8785
    form; anything else goes through :func:`canonicalize`.
    """
    simple = True

    def parse_float(text: str) -> float:
        nonlocal simple
        simple = False
        return float(text)

    value = json.loads(line, parse_float=parse_float)
    # A number token of 16 digits or more may be beyond 2**53: the careful path judges it.
    if simple and line.isascii() and not _LONG_NUMBER.search(line):
        if json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("ascii") == line:
            return value
        raise ValueError("not in RFC 8785 canonical form")
    if canonicalize(value) != line:
        raise ValueError("not in RFC 8785 canonical form")
    return value


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 encoding of ``value`` (dicts, lists, str, int, float, bool, None), as UTF-8."""
    parts: list[str] = []
    _encode(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as error:
        raise NotCanonicalizableError(f"a string holds a lone surrogate ({error.reason})") from None


def _encode(value: Any, parts: list[str]) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_escape(value))
    elif isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise NotCanonicalizableError(f"integer {value} is beyond 2**53 and has no exact JSON number")
        parts.append(str(value))
    elif isinstance(value, float):
        parts.append(number(value))
    elif isinstance(value, dict):
        parts.append("{")
        keys = list(value)
        if not all(isinstance(key, str) for key in keys):
            raise NotCanonicalizableError("an object member name is not a string")
        for index, key in enumerate(_sorted_names(keys)):
            if index:
                parts.append(",")
            parts.append(_escape(key))
            parts.append(":")
            _encode(value[key], parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _encode(item, parts)
        parts.append("]")
    else:
        raise NotCanonicalizableError(f"{type(value).__name__} is not a JSON value")


def _sorted_names(keys: list[str]) -> list[str]:
    # Code-point order equals UTF-16 order for ASCII names (the usual case, and the fast one).
    if all(key.isascii() for key in keys):
        return sorted(keys)
    return sorted(keys, key=lambda key: key.encode("utf-16-be", "surrogatepass"))


def number(value: float) -> str:
    """ECMAScript's Number.prototype.toString for a finite double."""
    if not math.isfinite(value):
        raise NotCanonicalizableError(f"{value} is not a JSON number")
    if value == 0:
        return "0"  # -0 included
    sign = "-" if value < 0 else ""
    mantissa, _, exponent_text = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # The decimal point sits after ``point`` digits of ``digits`` (value = 0.digits * 10**point).
    point = len(whole) + int(exponent_text or 0) - (len(whole + fraction) - len((whole + fraction).lstrip("0")))
    digits = digits.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        return sign + digits + "0" * (point - count)
    if 0 < point <= 21:
        return sign + digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return sign + "0." + "0" * -point + digits
    exponent = point - 1
    exponent_part = ("e+" if exponent >= 0 else "e-") + str(abs(exponent))
    if count == 1:
        return sign + digits + exponent_part
    return sign + digits[0] + "." + digits[1:] + exponent_part
