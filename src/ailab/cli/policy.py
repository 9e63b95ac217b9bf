"""`ailab policy`: Security reviewers: check the lab, a plan or manifests against the rules and their EU controls."""

from __future__ import annotations

from ailab.cli.base import new_group

app = new_group("Security reviewers: check the lab, a plan or manifests against the rules and their EU controls.")
