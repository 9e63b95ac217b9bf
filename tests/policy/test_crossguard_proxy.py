"""What ailab relies on in pulumi-policy's private proxies (``ailab.policy.crossguard_proxy``).

If an upgrade of pulumi-policy changes them, these tests fail before CrossGuard silently sees
exceptions (or proxies) instead of property values.
"""

from __future__ import annotations

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from ailab.policy.crossguard_proxy import unwrap

PROPS = {
    "metadata": {"name": "web", "labels": {"team": "a"}},
    "spec": {"containers": [{"image": UNKNOWN_STRING_VALUE, "ports": [80, 443]}]},
    "replicas": 2,
}


def test_the_proxy_raises_on_an_unknown_value() -> None:
    # Why ailab unwraps: a rule reading the value through the proxy would crash during preview.
    proxied = unknown_checking_proxy(PROPS)
    with pytest.raises(UnknownValueError):
        _ = proxied["spec"]["containers"][0]["image"]


def test_every_nested_object_and_list_is_a_proxy() -> None:
    proxied = unknown_checking_proxy(PROPS)
    assert not isinstance(proxied["metadata"], dict)
    assert not isinstance(proxied["spec"]["containers"], list)


def test_unwrap_returns_plain_values_with_unknowns_kept() -> None:
    plain = unwrap(unknown_checking_proxy(PROPS))
    assert plain == PROPS
    assert type(plain["metadata"]["labels"]) is dict
    assert type(plain["spec"]["containers"]) is list
    assert type(plain["spec"]["containers"][0]["ports"]) is list


def test_unwrap_leaves_plain_values_alone() -> None:
    assert unwrap(PROPS) == PROPS
    assert unwrap("text") == "text"
    assert unwrap(None) is None
