"""Whether this machine can use NVML, decided by the product's own probe (``ailab.gpu.inventory``)."""

from __future__ import annotations

from functools import cache

from ailab.gpu.inventory import NvmlUnavailableError, collect_inventory


@cache
def nvml_unavailable() -> str | None:
    """Why NVML cannot be used here (the product's one-line reason), or None when it can."""
    try:
        collect_inventory()
    except NvmlUnavailableError as error:
        return f"no usable NVIDIA driver or GPU here: {error}"
    return None
