"""The small JSONPath subset that points at an answer in an in-house API's response.

``$.data.answer``, ``$.choices[0].message.content``, ``$['output']['text']`` and, for the retrieved
contexts of a RAG system, ``$.sources[*].text``. Filters, recursive descent and slices are refused
when the path is read (a plan error), not when the first answer arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]{1,9})\]|\[\*\]|\['([^'\]]+)'\]|\[\"([^\"\]]+)\"\]")
WILDCARD = "*"


@dataclass(frozen=True)
class JsonPath:
    text: str
    steps: tuple[str | int, ...]

    def find(self, document: Any) -> list[Any]:
        """Every value the path reaches (one without a wildcard), or [] where a step is missing."""
        current = [document]
        for step in self.steps:
            following: list[Any] = []
            for value in current:
                if step == WILDCARD:
                    following.extend(value if isinstance(value, list) else ())
                elif isinstance(step, int):
                    if isinstance(value, list) and -len(value) <= step < len(value):
                        following.append(value[step])
                elif isinstance(value, dict) and step in value:
                    following.append(value[step])
            current = following
        return current


def parse(text: str) -> JsonPath:
    """Parse ``text``; a ``ValueError`` says what is not supported."""
    if not text.startswith("$"):
        raise ValueError(f"{text!r} is not a JSONPath; start it with $, e.g. $.choices[0].message.content")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(
                f"{text!r}: unsupported at {text[position:]!r}; use .key, [index], ['key'] or [*] (no filters, slices or ..)"
            )
        name, index, quoted, double_quoted = match.groups()
        if index is not None:
            steps.append(int(index))
        elif name is not None or quoted is not None or double_quoted is not None:
            steps.append(name or quoted or double_quoted)
        else:
            steps.append(WILDCARD)
        position = match.end()
    return JsonPath(text, tuple(steps))
