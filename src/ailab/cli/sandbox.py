"""`ailab sandbox`: Auditors: create, list, extend and destroy per-audit sandboxes."""

from __future__ import annotations

from ailab.cli.base import new_group

app = new_group("Auditors: create, list, extend and destroy per-audit sandboxes.")
