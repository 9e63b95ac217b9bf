"""Network isolation: default-deny NetworkPolicies wherever workloads run and in every sandbox,
and sandbox egress limited to the allowlist, DNS and named in-cluster services."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from ailab.policy.model import MISSING, RecordSet, RuleContext, Violation, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.namespaces import (
    by_namespace,
    is_sandbox_namespace,
    looks_like_sandbox,
    namespaces,
)
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES
from ailab.policy.rules.helpers.tokens import HELM_RELEASE, NAMESPACE, NETWORK_POLICY
from ailab.policy.rules.helpers.values import ev, hides, is_unknown, mapping, strings

_ISOLATION = [
    c.EUDPR_CONFIDENTIALITY,
    c.GDPR_CONFIDENTIALITY,
    c.AI_ACT_CONFIDENTIALITY,
    c.ISO_SEGREGATION,
    c.ISO_NETWORKS,
    c.CIS_K8S_NETWORK_POLICIES,
    c.CIS_EKS_NETWORK_POLICIES,
    c.NSA_NETWORK_POLICIES,
]


def _selects_all(selector: Any) -> bool | None:
    """Whether a label selector is empty (``{}``): every pod of the namespace, or every namespace; None when
    hidden parts may make it so."""
    if is_unknown(selector):
        return None
    if not isinstance(selector, Mapping):
        return False
    parts = (selector.get("matchLabels"), selector.get("matchExpressions"))
    if any(part and not is_unknown(part) for part in parts):
        return False
    return None if any(is_unknown(part) for part in parts) else True


def _default_denies(policy_spec: Mapping[str, Any]) -> set[str]:
    """The directions a policy denies, or may deny (hidden parts), by default for the whole namespace: an empty pod
    selector, the direction among its ``policyTypes`` and no rules for it.

    Absent or empty ``policyTypes`` are defaulted as the API server does: Ingress, plus Egress only for a non-empty
    ``egress`` list, which is then not a default deny (``egress: []`` alone leaves egress open).
    """
    if _selects_all(policy_spec.get("podSelector")) is False:
        return set()
    types = policy_spec.get("policyTypes")
    denied = set()
    for kind in ("Ingress", "Egress"):
        rules = policy_spec.get(kind.lower())
        if rules and not is_unknown(rules):
            continue  # it allows some traffic in that direction
        if hides(types) or kind in (strings(types) or ["Ingress"]):
            denied.add(kind)
    return denied


@stack_rule(
    id="AILAB-NET-010",
    title="Namespaces with workloads, and every sandbox, deny ingress and egress by default",
    severity="high",
    rationale=(
        "Kubernetes lets every pod talk to every other pod and to the internet until a NetworkPolicy isolates it; "
        "a default-deny policy in both directions makes each allowed flow an explicit, reviewable exception."
    ),
    remediation=(
        "Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] and no rules to the namespace, "
        "then allow the flows it needs (DNS, MLflow, Qdrant, the allowlist) with further policies."
    ),
    types=[NAMESPACE, NETWORK_POLICY, HELM_RELEASE, *WORKLOAD_TYPES],
    controls=_ISOLATION,
)
def default_deny(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    declared = namespaces(records)
    needing: dict[str, str] = {}
    for name, workloads in by_namespace(records, *WORKLOAD_TYPES).items():
        needing.setdefault(name, f"runs {workloads[0].name}")
    for release in records.of_type(HELM_RELEASE):
        target = release.properties.get("namespace")
        if isinstance(target, str) and not is_unknown(target):
            needing.setdefault(target, f"runs Helm release {release.name}")
    for name, namespace in declared.items():
        if is_sandbox_namespace(namespace):
            needing.setdefault(name, "is a sandbox")
    policies = by_namespace(records, NETWORK_POLICY)
    for name, reason in sorted(needing.items()):
        denied: set[str] = set()
        for policy in policies.candidates(name):  # a policy whose namespace is hidden may be in this one
            denied |= _default_denies(mapping(policy.properties.get("spec")))
        missing = [kind for kind in ("Ingress", "Egress") if kind not in denied]
        if missing:
            owner = declared.get(name)
            yield Violation(
                f"Namespace {name} {reason} but has no default-deny {' or '.join(missing).lower()} NetworkPolicy",
                tuple(ev(f"NetworkPolicy[default-deny {kind}]", MISSING) for kind in missing),
                owner,
            )


_DNS_PORTS = (53, "53", "dns", "dns-tcp")  # a tuple: a port may be any YAML value, hashable or not


def _wide(cidr: Any) -> bool:
    """Wider than the sandbox allowlist admits: an IPv4 network larger than a /8 (an IPv6 one larger than a /32)."""
    if not isinstance(cidr, str) or is_unknown(cidr):
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return network.prefixlen < (8 if network.version == 4 else 32)


def _only_dns(ports: Any) -> bool | None:
    """Whether a rule opens DNS ports only; None when hidden ports may make it so."""
    if is_unknown(ports):
        return None
    numbers = [mapping(p).get("port") for p in ports] if isinstance(ports, list) else []
    if not numbers or any(not is_unknown(number) and number not in _DNS_PORTS for number in numbers):
        return False
    return None if any(is_unknown(number) for number in numbers) else True


@stack_rule(
    id="AILAB-NET-011",
    title="Sandboxes reach only the egress allowlist, DNS and named in-cluster services",
    severity="critical",
    rationale=(
        "Code under evaluation must not exfiltrate the data it was given: a sandbox may reach DNS, MLflow, Qdrant "
        "and the networks the allowlist names, never the internet at large or other sandboxes. An ipBlock wider "
        "than a /8 stays too wide whatever its except list carves out."
    ),
    remediation=(
        "In sandbox NetworkPolicies, give every egress rule a destination: ipBlocks from sandbox.egress_allowlist "
        "(a /8 or narrower), namespaceSelector plus podSelector for MLflow, Qdrant and kube-dns; a rule without "
        "destination may only open port 53."
    ),
    types=[NAMESPACE, NETWORK_POLICY],
    controls=[*_ISOLATION, c.ISO_SEPARATION],  # sandboxes are the test environments of evaluated systems
)
def sandbox_egress(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    # Sandboxes by ailab's marks only: a foreign audit-* namespace is not one of them.
    sandboxes = {name for name, namespace in namespaces(records).items() if looks_like_sandbox(namespace)}
    for name, policies in by_namespace(records, NETWORK_POLICY).items():
        if name not in sandboxes:
            continue
        for policy in policies:
            rules = policy.get("spec.egress")
            for i, rule in enumerate(rules if isinstance(rules, list) else ()):
                rule = mapping(rule)
                peers = rule.get("to", MISSING)
                if is_unknown(peers):
                    continue
                if not peers:
                    if _only_dns(rule.get("ports")) is False:
                        yield Violation(
                            f"NetworkPolicy {policy.name} lets sandbox {name} reach any destination",
                            (ev(f"spec.egress[{i}].to", peers),),
                            policy,
                        )
                    continue
                for j, peer in enumerate(peers if isinstance(peers, list) else ()):
                    peer = mapping(peer)
                    cidr = mapping(peer.get("ipBlock")).get("cidr")
                    if _wide(cidr):
                        yield Violation(
                            f"NetworkPolicy {policy.name} lets sandbox {name} reach {cidr}",
                            (ev(f"spec.egress[{i}].to[{j}].ipBlock.cidr", cidr),),
                            policy,
                        )
                    elif (
                        "namespaceSelector" in peer
                        and _selects_all(peer["namespaceSelector"]) is True
                        and _selects_all(peer.get("podSelector", {})) is True
                    ):
                        yield Violation(
                            f"NetworkPolicy {policy.name} lets sandbox {name} reach every pod of every namespace",
                            (ev(f"spec.egress[{i}].to[{j}].namespaceSelector", peer["namespaceSelector"]),),
                            policy,
                        )
