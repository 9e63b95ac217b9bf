"""``pulumi preview --json``: the new state of every step that keeps or creates a resource.

The document is Pulumi's preview digest: ``steps[]`` with ``op``, ``urn`` and ``newState``
(``type``, ``urn``, ``custom``, ``inputs``, ``parent``, ``dependencies``, ``provider``).
Pulumi already writes secrets there as ``[secret]``; values unknown until deployment carry
the SDK's sentinels and become ``[unknown]``. A resource replaced in several steps is
recorded once, with the last new state.
"""

from __future__ import annotations

from typing import Any

from ailab.errors import BadInputError
from ailab.policy.loaders.values import record_from_resource_state, require_mapping
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
        state, op = step.get("newState"), step.get("op")
        if op is not None and not isinstance(op, str):  # a list or mapping could not even be looked up in _REMOVING
            raise BadInputError(f"{where}: 'op' is not a string; {_FIX}")
        if state is None or op in _REMOVING:
            continue
        new_state = require_mapping(state, f"{where}.newState", _FIX)
        record = record_from_resource_state(new_state, f"{where}.newState", source, _FIX)
        if record is not None:
            by_urn.pop(record.urn, None)
            by_urn[record.urn] = record
    return list(by_urn.values())
