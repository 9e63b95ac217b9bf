"""AILAB-K8S-012: an object without a namespace lands in the default one, unless an explicit provider places it."""

from __future__ import annotations

from ailab.policy.engine import evaluate
from ailab.policy.model import Record, all_rules

_RULE = [all_rules()["AILAB-K8S-012"]]
_PROPERTIES = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}}


def _record(provider: str | None) -> Record:
    return Record("kubernetes:core/v1:ConfigMap", "settings", "urn:x::settings", _PROPERTIES, provider=provider)


def test_no_namespace_is_the_default_namespace() -> None:
    (finding,) = evaluate([_record(None)], rules=_RULE).failed()
    assert "lands in the default namespace" in finding.message
    default_provider = "urn:pulumi:s::p::pulumi:providers:kubernetes::default_4_23_0"
    assert evaluate([_record(default_provider)], rules=_RULE).failed()


def test_an_explicit_provider_may_set_the_namespace() -> None:
    assert not evaluate([_record("urn:pulumi:s::p::pulumi:providers:kubernetes::lab-cluster")], rules=_RULE).findings
