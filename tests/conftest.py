"""Test tiers: every test is ``unit`` unless marked; the other tiers skip with a stated reason
when this machine cannot run them (see DESIGN.md, "Test tiers")."""

from __future__ import annotations

import shutil
from functools import cache

import pytest

PULUMI_MISSING = (
    "the Pulumi CLI is not on PATH (install it: curl -fsSL https://get.pulumi.com | sh); Automation API tests need it"
)


@cache
def nvml_unavailable() -> str | None:
    """Why NVML cannot be used here, or None when it can."""
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except Exception as error:  # the library raises many NVMLError subclasses, or OSError without a driver
        return f"no usable NVIDIA driver or GPU here (NVML: {error})"
    return None if count > 0 else "the NVIDIA driver reports no GPU"


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
