"""Remediations tell the lab's own people what to do: the lab's ingress controller is Traefik, and
ingress-nginx, retired upstream in March 2026, is no fix to point at."""

from __future__ import annotations

import pytest

from ailab.policy.model import all_rules

RULES = all_rules()


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_no_remediation_points_at_ingress_nginx(rule_id: str) -> None:
    assert "nginx.ingress.kubernetes.io" not in RULES[rule_id].remediation


def test_the_ingress_tls_rule_says_how_traefik_serves_only_tls() -> None:
    remediation = RULES["AILAB-NET-005"].remediation
    assert "spec.tls[].hosts" in remediation and "HTTPS entry point only" in remediation
    assert "traefik.ingress.kubernetes.io/router.entrypoints: websecure" in remediation
