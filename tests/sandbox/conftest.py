"""Fixtures of the sandbox tests: a private data dir per test, the example labs and their plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.sandbox.helpers import REPO, lab, make_spec

from ailab.plan.graph import Plan
from ailab.sandbox.program import plan_sandbox
from ailab.spec.model import LabSpec


@pytest.fixture(autouse=True)
def ailab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data dir (audit log, locks, index) and runs in the repository."""
    home = tmp_path / "ailab-home"
    monkeypatch.setenv("AILAB_HOME", str(home))
    monkeypatch.delenv("AILAB_BACKEND_URL", raising=False)
    monkeypatch.setenv("AILAB_PROJECT_DIR", str(REPO))
    monkeypatch.chdir(REPO)
    return home


@pytest.fixture(scope="session")
def aws_lab() -> LabSpec:
    return lab("aws-eu")


@pytest.fixture(scope="session")
def onprem_lab() -> LabSpec:
    return lab("onprem")


@pytest.fixture(scope="session")
def mig_plan(aws_lab: LabSpec) -> Plan:
    """The aws-eu lab's gpu-mig sandbox (MIG 1g.10gb on the h100 pool), planned once per session."""
    return plan_sandbox(make_spec(aws_lab), aws_lab)


@pytest.fixture(scope="session")
def cpu_plan(aws_lab: LabSpec) -> Plan:
    """A cpu-small sandbox of the same lab, without a group."""
    return plan_sandbox(make_spec(aws_lab, audit_id="2025-018-bias", profile="cpu-small", group=None), aws_lab)
