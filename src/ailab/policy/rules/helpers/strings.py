"""Scanning strings: every string leaf of a value with its path, and ``key = value`` ini lines."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string leaf of a nested value with its property path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


INI_SETTING = re.compile(r"^[ \t]*([A-Za-z_]+)[ \t]*=[ \t]*(.*?)[ \t]*$", re.MULTILINE)
"""``key = value`` lines of an ini file (the MLflow auth configuration)."""
