"""JSON documents inside properties (IAM and bucket policies), parsed once per distinct text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ailab.policy.rules.helpers.values import elements, is_unknown, mapping


@lru_cache(maxsize=2048)
def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_document(value: Any) -> Any:
    """A policy document given as a JSON string (parsed once per distinct text) or as an object."""
    if isinstance(value, str):
        return None if is_unknown(value) else _parse_json(value)
    return value if isinstance(value, Mapping) else None


def policy_statements(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """``(index, statement)`` of an IAM-style policy document; a single statement object counts as one."""
    document = json_document(value)
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement")
    if isinstance(statements, Mapping) or is_unknown(statements):
        return [(0, mapping(statements))]  # a hidden statement is a Hidden one: its every field reads as hidden
    return [(index, mapping(s)) for index, s in enumerate(elements(statements)) if isinstance(s, Mapping) or is_unknown(s)]
