"""Values of the specification that light modules need without importing pydantic.

The policy rules check 10,000 records in under two seconds including start-up; importing the
pydantic models costs a good part of that, so what rules share with the spec lives here.
"""

from __future__ import annotations

CLASSIFICATION_ORDER: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
"""Data classification levels, least to most sensitive; a sandbox may not exceed its lab's."""

DEFAULT_REGISTRIES: tuple[str, ...] = (
    "ghcr.io/mlflow",
    "docker.io/qdrant",
    "docker.io/library",
    "nvcr.io/nvidia",
    "quay.io/jupyter",
    "registry.k8s.io",
)
"""Image prefixes the lab may pull from unless the spec's ``supply_chain`` says otherwise."""

SANDBOX_NAMESPACE_PREFIX = "audit-"
"""Sandbox namespaces are ``audit-<audit id>``."""

WHOLE_GPU = "nvidia.com/gpu"
"""The extended resource of a whole (or time-sliced) GPU; MIG slices are ``nvidia.com/mig-<profile>``."""

ZONE_COUNT = 3
"""Availability zones an AWS lab spreads over: private subnets, NAT gateways and nodes in each."""
