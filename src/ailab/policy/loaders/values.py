"""What Pulumi documents have in common: secret and unknown markers, URNs, provider references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ailab.errors import BadInputError
from ailab.formats import SECRET, STACK_TYPE, UNKNOWN
from ailab.policy.kubernetes_apis import current_type
from ailab.policy.model import Record

_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
_OUTPUT_SIGNATURE = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_SIGNATURES = {
    "1b47061264138c4ac30d75fd1eb44270": SECRET,
    "c44067f5952c0a294b673a41bacd8c17": "[asset]",
    "0def7320c3a5731c473e5ecbe6d01bc7": "[archive]",
    "5cf8f73096256a8f31e491e813e4eb8e": "[resource]",
}
# Values the engine cannot know before deployment (the Pulumi SDK's sentinels, one per type).
_UNKNOWN_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "030794c1-ac77-496b-92df-f27374a8bd58",
        "e48ece36-62e2-4504-bad9-02848725956a",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


def plain(value: Any) -> Any:
    """``value`` with secrets as ``[secret]`` (never their ciphertext or plaintext) and unknowns as ``[unknown]``."""
    if isinstance(value, Mapping):
        signature = value.get(_SIGNATURE_KEY)
        if signature == _OUTPUT_SIGNATURE:
            if value.get("secret"):
                return SECRET
            return plain(value["value"]) if "value" in value else UNKNOWN
        if isinstance(signature, str):
            return _SIGNATURES.get(signature, "[special]")
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def plain_properties(value: Any, where: str, fix: str) -> Mapping[str, Any]:
    """:func:`plain` of a resource's properties, which must be an object."""
    try:
        return require_mapping(plain(value), where, fix)
    except RecursionError:
        raise BadInputError(f"{where}: nested too deeply; refusing") from None


def name_from_urn(urn: str) -> str:
    """The resource name: what follows the last ``::`` of a URN."""
    return urn.rsplit("::", 1)[-1]


def provider_urn(reference: Any) -> str | None:
    """The URN part of a provider reference ``<urn>::<id>`` (``None`` when absent)."""
    if not isinstance(reference, str) or not reference:
        return None
    urn, separator, _ = reference.rpartition("::")
    return urn if separator and urn.startswith("urn:") else reference


def require_mapping(value: Any, where: str, fix: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BadInputError(f"{where}: expected an object, found {type(value).__name__}; {fix}")
    return value


def require_str(resource: Mapping[str, Any], key: str, where: str, fix: str) -> str:
    value = resource.get(key)
    if not isinstance(value, str) or not value:
        raise BadInputError(f"{where}: {key!r} is missing or not a string; {fix}")
    return value


def urn_list(value: Any, where: str, fix: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadInputError(f"{where}: 'dependencies' must be a list of URNs; {fix}")
    return tuple(value)


def record_from_resource_state(state: Mapping[str, Any], where: str, source: str, fix: str) -> Record | None:
    """A record from Pulumi's resource state (a preview step's ``newState``, a stack export's resource).

    None for components and the stack. The inputs are checked; outputs stand in only for a
    resource without inputs (one read with ``get``).
    """
    type_token = require_str(state, "type", where, fix)
    if not state.get("custom") or type_token == STACK_TYPE:
        return None
    urn = require_str(state, "urn", where, fix)
    properties = state.get("inputs") or state.get("outputs") or {}
    return Record(
        type=current_type(type_token),
        name=name_from_urn(urn),
        urn=urn,
        properties=plain_properties(properties, f"{where}.inputs", fix),
        parent=state.get("parent") if isinstance(state.get("parent"), str) else None,
        dependencies=urn_list(state.get("dependencies"), where, fix),
        source=source,
        provider=provider_urn(state.get("provider")),
    )
