"""`ailab audit`: The tamper-evident audit log of every sandbox operation."""

from __future__ import annotations

from ailab.cli.base import new_group

app = new_group("The tamper-evident audit log of every sandbox operation.")
