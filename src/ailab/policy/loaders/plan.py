"""The offline plan (``ailab lab plan --json``, format ``ailab.plan/v1``): custom resources become records.

The format is read here (its markers come from :mod:`ailab.formats`): the policy engine does not depend on ``ailab.plan``.
Components (and the stack) are only parents; their inputs are never checked.
"""

from __future__ import annotations

from typing import Any

from ailab.errors import BadInputError
from ailab.formats import PLAN_FORMAT, STACK_TYPE
from ailab.policy.loaders.values import provider_urn, require_mapping, require_str, urn_list
from ailab.policy.model import Record

_FIX = "regenerate it with ailab lab plan --json"


def records_from_plan(plan_json: dict[str, Any], source: str) -> list[Record]:
    """The custom resources of a plan document (what ``Plan.to_json()`` returns), in plan order."""
    if not isinstance(plan_json, dict) or plan_json.get("format") != PLAN_FORMAT:
        found = plan_json.get("format") if isinstance(plan_json, dict) else type(plan_json).__name__
        raise BadInputError(f"{source}: not an ailab plan (format {found!r}, expected {PLAN_FORMAT!r}); {_FIX}")
    resources = plan_json.get("resources")
    if not isinstance(resources, list):
        raise BadInputError(f"{source}: 'resources' is missing or not a list; {_FIX}")
    records: list[Record] = []
    for index, item in enumerate(resources):
        where = f"{source}: resources[{index}]"
        resource = require_mapping(item, where, _FIX)
        type_token = require_str(resource, "type", where, _FIX)
        if not resource.get("custom", True) or type_token == STACK_TYPE:
            continue
        inputs = resource.get("inputs") or {}
        records.append(
            Record(
                type=type_token,
                name=require_str(resource, "name", where, _FIX),
                urn=require_str(resource, "urn", where, _FIX),
                properties=require_mapping(inputs, f"{where}.inputs", _FIX),
                parent=resource.get("parent") if isinstance(resource.get("parent"), str) else None,
                dependencies=urn_list(resource.get("dependencies"), where, _FIX),
                source=source,
                provider=provider_urn(resource.get("provider")),
            )
        )
    return records
