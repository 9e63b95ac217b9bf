"""`ailab gpu`: NVIDIA GPUs of this host: inventory and health (NVML)."""

from __future__ import annotations

from ailab.cli.base import new_group

app = new_group("NVIDIA GPUs of this host: inventory and health (NVML).")
