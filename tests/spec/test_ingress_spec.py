"""The ingress section: a lab-installed Traefik or a provided controller, and the combinations refused in one line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ailab.errors import BadInputError
from ailab.spec import load_stack_spec
from ailab.spec.model import IngressSpec
from ailab.spec.stackfile import Project

REPO = Path(__file__).resolve().parents[2]
AWS_RANGES = "      source_ranges: [10.200.0.0/24]\n"
ONPREM_RANGES = "      source_ranges: [10.200.0.0/24]\n"

# (stack, change to the example, expected message (regex), expected path)
CASES = [
    ("aws-eu", (AWS_RANGES, ""), r"controller: traefik needs source_ranges", "lab.ingress.source_ranges"),
    (
        "aws-eu",
        (AWS_RANGES, "      source_ranges: [0.0.0.0/0]\n"),
        r"0.0.0.0/0 opens the ingress too wide",
        "lab.ingress.source_ranges",
    ),
    ("aws-eu", (AWS_RANGES, "      source_ranges: [10.0.0.0/7]\n"), r"a /8 or narrower", "lab.ingress.source_ranges"),
    (
        "aws-eu",
        (AWS_RANGES, AWS_RANGES + "      class_name: nginx\n"),
        r"class_name is for controller: provided",
        "lab.ingress.class_name",
    ),
    (
        "aws-eu",
        (AWS_RANGES, AWS_RANGES + "      controller_namespace: ingress-nginx\n"),
        r"controller_namespace is for controller: provided",
        "lab.ingress.controller_namespace",
    ),
    (
        "aws-eu",
        (AWS_RANGES, AWS_RANGES + "      annotations: {nginx.ingress.kubernetes.io/whitelist-source-range: 10.200.0.0/24}\n"),
        r"annotation of ingress-nginx, retired upstream in March 2026",
        "lab.ingress.annotations",
    ),
    ("aws-eu", ("controller: traefik", "controller: nginx"), r"'nginx' is not allowed", "lab.ingress.controller"),
    ("onprem", (ONPREM_RANGES, ""), r"controller: k3s needs source_ranges", "lab.ingress.source_ranges"),
    (
        "onprem",
        (ONPREM_RANGES, ONPREM_RANGES + "      class_name: traefik\n"),
        r"class_name is for controller: provided",
        "lab.ingress.class_name",
    ),
    (
        "onprem",
        (ONPREM_RANGES, ONPREM_RANGES + "      replicas: 3\n"),
        r"replicas sizes the Traefik the lab installs",
        "lab.ingress.replicas",
    ),
    ("onprem", ("controller: k3s", "controller: provided"), r"controller: provided needs class_name", "lab.ingress.class_name"),
    (
        "onprem",
        ("controller: k3s", "controller: provided\n      class_name: haproxy\n      controller_namespace: haproxy"),
        r"source_ranges applies to the lab's or k3s's Traefik only",
        "lab.ingress.source_ranges",
    ),
    ("onprem", ("tls_secret_name: ailab-tls", "tls_secret_name: Ailab_TLS"), r"DNS label", "lab.ingress.tls_secret_name"),
]


@pytest.mark.parametrize(("stack", "change", "message", "path"), CASES, ids=[f"{c[0]}:{c[2][:30]}" for c in CASES])
def test_bad_ingress_is_refused_in_one_line(
    project: Project, write_stack: Callable[[str, str], Path], stack: str, change: tuple[str, str], message: str, path: str
) -> None:
    text = (REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    old, new = change
    assert old in text, f"fixture drifted: {old!r} not in the {stack} example"
    stack_file = write_stack("bad", text.replace(old, new, 1))
    with pytest.raises(BadInputError) as caught:
        load_stack_spec("bad", project)
    first = str(caught.value).splitlines()[0]
    assert first.startswith(f"{stack_file}:"), first
    assert f": {path}: " in first, first
    assert re.search(message, first), first


def test_examples_choose_the_labs_traefik_and_k3s_traefik(project: Project) -> None:
    aws = load_stack_spec("aws-eu", project)[0].ingress
    onprem = load_stack_spec("onprem", project)[0].ingress
    assert aws is not None and aws.installed and aws.ingress_class == "traefik"
    assert [str(n) for n in aws.source_ranges] == ["10.200.0.0/24"]
    assert onprem is not None and not onprem.installed and onprem.controller == "k3s"
    assert (onprem.ingress_class, onprem.cluster_controller_namespace) == ("traefik", "kube-system")


def test_no_nginx_default_survives() -> None:
    """The defaults name no controller: an installed Traefik needs nothing but its networks and certificate."""
    spec = IngressSpec.model_validate(
        {
            "source_ranges": ["10.200.0.0/24"],
            "tls_secret_name": "tls",
            "mlflow_host": "m.example.eu",
            "qdrant_host": "q.example.eu",
        }
    )
    assert spec.controller == "traefik" and spec.class_name is None and spec.controller_namespace is None
    assert "nginx" not in json.dumps(IngressSpec.model_json_schema()).lower()


def test_cert_manager_issuer_is_a_name() -> None:
    base = {
        "source_ranges": ["10.200.0.0/24"],
        "tls_secret_name": "tls",
        "mlflow_host": "m.example.eu",
        "qdrant_host": "q.example.eu",
    }
    assert IngressSpec.model_validate({**base, "cluster_issuer": "internal-ca"}).cluster_issuer == "internal-ca"
    with pytest.raises(ValueError, match="DNS label"):
        IngressSpec.model_validate({**base, "cluster_issuer": "Internal CA"})
