"""This host's GPU inventory for ailab's commands: NVML being unusable becomes a missing prerequisite.

:mod:`ailab.gpu.inventory` cannot raise ailab's errors itself (it runs on hosts as Ansible
``module_utils`` without ailab), so the translation lives here.
"""

from __future__ import annotations

from typing import Any

from ailab.errors import MissingPrerequisiteError
from ailab.gpu.inventory import NvmlUnavailableError, collect_inventory


def read_inventory() -> dict[str, Any]:
    """:func:`~ailab.gpu.inventory.collect_inventory`, or :class:`MissingPrerequisiteError` (exit 3) with NVML's reason."""
    try:
        return collect_inventory()
    except NvmlUnavailableError as error:
        raise MissingPrerequisiteError(f"no usable NVIDIA GPU on this host: {error}") from None
