"""``pulumi preview --json``: the new state of every step that keeps or creates a resource.

The document is Pulumi's preview digest: ``steps[]`` with ``op``, ``urn`` and ``newState``
(``type``, ``urn``, ``custom``, ``inputs``, ``parent``, ``dependencies``, ``provider``).
Pulumi already writes secrets there as ``[secret]``; values unknown until deployment carry
the SDK's sentinels and become ``[unknown]``. A resource replaced in several steps is
recorded once, with the last new state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ailab.errors import BadInputError
from ailab.policy.loaders.values import (
    STACK_TYPE,
    name_from_urn,
    plain_properties,
    provider_urn,
    require_mapping,
    require_str,
    urn_list,
)
from ailab.policy.model import Record

_FIX = "write it with pulumi preview --json > preview.json"
# Steps whose new state is going away, not being deployed.
_REMOVING = frozenset({"delete", "delete-replaced", "discard", "discard-replaced", "remove-pending-replace"})


def records_from_preview(preview_json: dict[str, Any], source: str) -> list[Record]:
    """The custom resources a preview would leave deployed, in step order."""
    if not isinstance(preview_json, dict) or not ({"steps", "changeSummary"} & preview_json.keys()):
        raise BadInputError(f"{source}: not a Pulumi preview (no 'steps' or 'changeSummary'); {_FIX}")
    steps = preview_json.get("steps") or []
    if not isinstance(steps, list):
        raise BadInputError(f"{source}: 'steps' is not a list; {_FIX}")
    by_urn: dict[str, Record] = {}
    for index, item in enumerate(steps):
        where = f"{source}: steps[{index}]"
        step = require_mapping(item, where, _FIX)
        state = step.get("newState")
        if state is None or step.get("op") in _REMOVING:
            continue
        record = _record(require_mapping(state, f"{where}.newState", _FIX), f"{where}.newState", source)
        if record is not None:
            by_urn.pop(record.urn, None)
            by_urn[record.urn] = record
    return list(by_urn.values())


def _record(state: Mapping[str, Any], where: str, source: str) -> Record | None:
    type_token = require_str(state, "type", where, _FIX)
    if not state.get("custom") or type_token == STACK_TYPE:
        return None
    urn = require_str(state, "urn", where, _FIX)
    properties = state.get("inputs") or state.get("outputs") or {}
    return Record(
        type=type_token,
        name=name_from_urn(urn),
        urn=urn,
        properties=plain_properties(properties, f"{where}.inputs", _FIX),
        parent=state.get("parent") if isinstance(state.get("parent"), str) else None,
        dependencies=urn_list(state.get("dependencies"), where, _FIX),
        source=source,
        provider=provider_urn(state.get("provider")),
    )
