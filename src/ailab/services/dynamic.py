"""What the dynamic providers of this package share: the diff rule and input checks.

Pulumi pickles a dynamic provider (with ``dill``) into the state and runs it in a separate
process, so providers here keep no state: every method builds its client from its arguments.
``olds`` in ``diff``, ``update`` and ``delete`` are the previous *outputs*, so every provider
echoes its inputs into its outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, DiffResult
from pulumi.runtime.rpc import UNKNOWN


def diff_inputs(
    olds: Mapping[str, Any], news: Mapping[str, Any], *, replace_on: Iterable[str], update_on: Iterable[str]
) -> DiffResult:
    """A change of a ``replace_on`` input replaces the resource; of an ``update_on`` input, updates it.

    The old resource is deleted before its replacement is created: both carry the same name
    (experiment, collection), so creating first would adopt the old one and the delete would then
    destroy it.
    """
    replaces = [key for key in replace_on if olds.get(key) != news.get(key)]
    updates = [key for key in update_on if olds.get(key) != news.get(key)]
    return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=True)


def require_text(inputs: Mapping[str, Any], *keys: str) -> list[CheckFailure]:
    """A failure for each of ``keys`` that is not a non-empty string (unknown values, during a preview, pass)."""
    return [
        CheckFailure(key, f"{key} must be a non-empty string")
        for key in keys
        if not unknown(inputs.get(key)) and not (isinstance(inputs.get(key), str) and inputs[key])
    ]


def unknown(value: Any) -> bool:
    """Whether ``value`` is not known yet: the provider host passes such values, during a preview, as a sentinel."""
    return isinstance(value, str) and value == UNKNOWN
