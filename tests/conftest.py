"""Test tiers: every test is ``unit`` unless marked; the other tiers skip with a stated reason
when this machine cannot run them (see docs/architecture.md, "Test tiers")."""

from __future__ import annotations

import shutil

import pytest
from tests.nvml_state import nvml_unavailable

PULUMI_MISSING = "the Pulumi CLI is not on PATH (install it: curl -fsSL https://get.pulumi.com | sh); the tests that drive pulumi itself need it"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # get_closest_marker, not `in item.keywords`: keywords also hold test and parameter ids.
        if item.get_closest_marker("pulumi_cli") and shutil.which("pulumi") is None:
            item.add_marker(pytest.mark.skip(reason=PULUMI_MISSING))
        if item.get_closest_marker("gpu"):
            reason = nvml_unavailable()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
        if not any(item.get_closest_marker(tier) for tier in ("integration", "pulumi_cli", "gpu")):
            item.add_marker(pytest.mark.unit)
