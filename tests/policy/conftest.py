"""Fixtures of the policy engine tests (the rule catalogue's own tests live in tests/policy/rules/)."""

from __future__ import annotations

import pytest
from tests.policy.support import deployment, namespace

from ailab.policy.model import Record


@pytest.fixture
def sample_records() -> list[Record]:
    """A privileged Deployment on :latest (from a manifest, line 3), a clean one, and a namespace without quota."""
    return [
        deployment("web", privileged=True, image="nginx:latest", line=3),
        deployment("api", image="ghcr.io/acme/api:1.0"),
        namespace("team-a"),
    ]
