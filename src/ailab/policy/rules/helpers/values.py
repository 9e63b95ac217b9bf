"""Reading property values: placeholders (``[secret]``, ``[unknown]``) kept apart from absence, lists, nested keys, evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ailab.policy.model import MISSING, PLACEHOLDERS, Evidence, Hidden, as_mapping, hidden


def label_path(key: str) -> str:
    """Evidence path of a label (label keys contain dots and slashes, so they are quoted)."""
    return f'metadata.labels["{key}"]'


def annotation_path(key: str) -> str:
    return f'metadata.annotations["{key}"]'


def is_unknown(value: Any) -> bool:
    """True for the placeholders of values Pulumi cannot show (``[secret]``, ``[unknown]``) and for a hidden object."""
    return value in PLACEHOLDERS if isinstance(value, str) else type(value) is Hidden


def hides(value: Any) -> bool:
    """True when a value, or any item of a list value, is a placeholder: a verdict on it would be a guess."""
    return is_unknown(value) or (isinstance(value, list) and any(is_unknown(item) for item in value))


def as_bool(value: Any) -> bool | None:
    """``True``/``False`` for booleans and their string forms (state exports stringify some); else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    return None


def known_and_not(value: Any, wanted: bool) -> bool:
    """True when ``value`` is known and is not the boolean ``wanted`` (absent counts as not wanted); placeholders are not judged."""
    return not is_unknown(value) and as_bool(value) is not wanted


def as_list(value: Any) -> list[Any]:
    """A list for list-or-scalar fields (IAM ``Action``, ``Resource``); empty when absent; a placeholder stays one item."""
    if isinstance(value, list):
        return value
    if value is None or value is MISSING:
        return []
    return [value]


def dig(data: Any, *path: str) -> Any:
    """``data[a][b]...``; :data:`MISSING` where a key is absent or a level is not a mapping; the placeholder
    where a level is hidden."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            placeholder = hidden(data)
            return MISSING if placeholder is None else placeholder
        data = data[key]
    return data


mapping = as_mapping
"""``mapping(value)``: ``value`` when it is a mapping; a :class:`~ailab.policy.model.Hidden` one (every field reads
as the placeholder) when it is a placeholder; else an empty one (an optional sub-object that is absent)."""


def elements(value: Any) -> list[Any]:
    """``value`` when it is a list; a hidden list as one hidden item (``[placeholder]``); else an empty list."""
    if isinstance(value, list):
        return value
    placeholder = hidden(value)
    return [] if placeholder is None else [placeholder]


def strings(value: Any) -> list[str]:
    """The string items of a list (other items, and non-lists, give nothing); a hidden list gives its placeholder."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return [value] if type(value) is str and value in PLACEHOLDERS else []


def ev(path: str, value: Any) -> Evidence:
    return Evidence(path, value)
