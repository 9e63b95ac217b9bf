"""``pulumi stack export``: the deployed resources of a stack's checkpoint.

The document is ``{"version": 3, "deployment": {"manifest": ..., "resources": [...]}}``
(a bare deployment is accepted too). Each resource's ``inputs`` are checked, as in a plan
or a preview; its ``outputs`` only stand in where a resource has no inputs (one read
with ``get``). Secrets are ``{"<sig>": "<secret sig>", "ciphertext": ...}`` (or
``plaintext`` with ``--show-secrets``) and become ``[secret]``: no secret reaches a report.
"""

from __future__ import annotations

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

_FIX = "write it with pulumi stack export --file state.json"


def records_from_state(state_json: dict[str, Any], source: str) -> list[Record]:
    """The custom resources of a stack export, skipping those pending deletion."""
    deployment = state_json.get("deployment", state_json) if isinstance(state_json, dict) else None
    if not isinstance(deployment, dict) or not ({"resources", "manifest"} & deployment.keys()):
        raise BadInputError(f"{source}: not a Pulumi stack export (no 'deployment.resources'); {_FIX}")
    resources = deployment.get("resources") or []
    if not isinstance(resources, list):
        raise BadInputError(f"{source}: 'deployment.resources' is not a list; {_FIX}")
    records: list[Record] = []
    for index, item in enumerate(resources):
        where = f"{source}: deployment.resources[{index}]"
        resource = require_mapping(item, where, _FIX)
        type_token = require_str(resource, "type", where, _FIX)
        if not resource.get("custom") or type_token == STACK_TYPE or resource.get("delete"):
            continue
        urn = require_str(resource, "urn", where, _FIX)
        properties = resource.get("inputs") or resource.get("outputs") or {}
        records.append(
            Record(
                type=type_token,
                name=name_from_urn(urn),
                urn=urn,
                properties=plain_properties(properties, f"{where}.inputs", _FIX),
                parent=resource.get("parent") if isinstance(resource.get("parent"), str) else None,
                dependencies=urn_list(resource.get("dependencies"), where, _FIX),
                source=source,
                provider=provider_urn(resource.get("provider")),
            )
        )
    return records
