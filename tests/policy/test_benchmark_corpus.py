"""The policy benchmark's corpus looks like the lab: its Ingresses are Traefik's, not the retired ingress-nginx's."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

CORPUS = Path(__file__).resolve().parents[2] / "benchmarks" / "policy_corpus.py"


def _corpus_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("policy_corpus", CORPUS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_corpus_ingresses_are_of_class_traefik() -> None:
    files = _corpus_module().generate(2000)
    ingresses = [obj for objects in files for obj in objects if obj["kind"] == "Ingress"]
    assert len(ingresses) > 10
    assert {ingress["spec"]["ingressClassName"] for ingress in ingresses} == {"traefik"}
