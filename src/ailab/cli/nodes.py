"""`ailab nodes`: Architects: prepare on-premises hosts with Ansible (hardening, GPU drivers, k3s)."""

from __future__ import annotations

from ailab.cli.base import new_group

app = new_group("Architects: prepare on-premises hosts with Ansible (hardening, GPU drivers, k3s).")
