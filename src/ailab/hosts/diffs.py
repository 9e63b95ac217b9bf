"""``--diff``: the changes a task made (or, in check mode, would make), from its result, as unified diffs.

With ansible-runner quiet, Ansible prints nothing, so ailab renders the ``diff`` that modules
put in their results: ``before``/``after`` texts (template, copy, lineinfile...) or an
already ``prepared`` text (apt).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TaskDiff:
    host: str
    task: str
    text: str


def task_diffs(event: Mapping[str, Any]) -> list[TaskDiff]:
    """The diffs of a changed task's result (its loop items' included), or none."""
    data = event.get("event_data") or {}
    result = data.get("res") or {}
    if event.get("event") != "runner_on_ok" or not result.get("changed"):
        return []
    host, task = str(data.get("host", "?")), str(data.get("task", "")).strip()
    return [TaskDiff(host, task, text) for text in map(_render, _entries(result)) if text]


def _entries(result: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    diff = result.get("diff")
    if isinstance(diff, Mapping):
        yield diff
    elif isinstance(diff, list):
        yield from (entry for entry in diff if isinstance(entry, Mapping))
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("changed"):
            yield from _entries(item)


def _render(entry: Mapping[str, Any]) -> str:
    if entry.get("prepared"):
        return str(entry["prepared"]).rstrip("\n")
    before, after = _text(entry.get("before")), _text(entry.get("after"))
    if before == after:
        return ""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=str(entry.get("before_header", "before")),
        tofile=str(entry.get("after_header", "after")),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines).rstrip("\n")


def _text(value: Any) -> str:
    """A diff side as text: file contents as they are, state dictionaries (file module) as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True) + "\n"
