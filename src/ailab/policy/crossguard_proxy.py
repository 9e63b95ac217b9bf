"""pulumi-policy's internals the CrossGuard adapter relies on, and nowhere else.

CrossGuard hands a policy its resource's properties wrapped in ``pulumi_policy.proxy``'s
unknown-checking proxies (one around every nested object and list), which raise on reading a
value unknown during preview. The rules must instead see such a value and decide, so the
adapter reads the raw value behind each proxy: the private ``_DictProxy``/``_ListProxy``
classes, whose ``__getitem__("__target")`` returns what they wrap. That use is here alone,
pinned by ``tests/policy/test_crossguard_proxy.py``; ``pulumi-policy`` is pinned to the tested
compatible release in ``pyproject.toml``.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy.proxy import _DictProxy, _ListProxy

_TARGET = "__target"


def unwrap(value: Any) -> Any:
    """``value`` with every unknown-checking proxy in it replaced by the plain dict or list it wraps."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value[_TARGET]
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value
