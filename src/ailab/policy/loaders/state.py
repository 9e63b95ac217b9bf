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
from ailab.policy.loaders.values import record_from_resource_state, require_mapping
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
        if resource.get("delete"):
            continue
        record = record_from_resource_state(resource, where, source, _FIX)
        if record is not None:
            records.append(record)
    return records
