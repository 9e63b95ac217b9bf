"""Fixtures of the sandbox tests: a private data dir per test, the example labs and their plans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.sandbox.helpers import EXAMPLE_STACKS, REPO, lab, make_spec, plan_on_lab_outputs

from ailab.plan.graph import Plan
from ailab.plan.lab import plan_lab
from ailab.sandbox import lifecycle
from ailab.sandbox.lifecycle import Deployed
from ailab.sandbox.program import plan_sandbox
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec.model import LabSpec
from ailab.spec.stackfile import find_project


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


@pytest.fixture(scope="session")
def lab_plans() -> dict[str, Plan]:
    """The offline lab plan of each example stack: the lab program's real outputs."""
    project = find_project(REPO)
    return {stack: plan_lab(stack, project) for stack in EXAMPLE_STACKS}


@pytest.fixture(scope="session")
def deployed_plans(lab_plans: dict[str, Plan]) -> dict[str, Plan]:
    """Each example lab's gpu-mig sandbox as deployed: reading its lab plan's outputs through the StackReference."""
    plans = {}
    for stack, lab_plan in lab_plans.items():
        lab_spec = lab(stack)
        plans[stack] = plan_on_lab_outputs(make_spec(lab_spec, stack=stack), lab_spec, lab_plan.outputs)
    return plans


class FakePulumi:
    """Stands in for :mod:`ailab.sandbox.lifecycle`'s engine calls; records them and can be told to fail."""

    def __init__(self) -> None:
        self.ups: list[tuple[SandboxSpec, bool]] = []
        self.destroys: list[str] = []
        self.ca_bundles: list[Path | None] = []
        """The lab CA each up and destroy was given, in order."""
        self.fail_up: Exception | None = None
        self.stacks: set[str] = set()
        self.passwords = {"alice": "generated-password-of-alice-0123"}
        self.extra_outputs: dict[str, object] = {}
        """Merged into every up's plain outputs (e.g. what the MLflow experiment reports)."""

    def up(
        self,
        spec: SandboxSpec,
        program: Callable[[], None],
        *,
        resume: bool,
        on_output: Callable[[str], None],
        ca_bundle: Path | None = None,
    ) -> Deployed:
        self.ups.append((spec, resume))
        self.ca_bundles.append(ca_bundle)
        self.stacks.add(spec.audit_id)
        on_output(f"Updating ({spec.audit_id})")
        if self.fail_up is not None:
            raise self.fail_up
        outputs = {"namespace": f"audit-{spec.audit_id}", "mlflowUrl": "http://mlflow:5000", "expiresAt": iso(spec.expires_at)}
        outputs |= self.extra_outputs
        return Deployed(outputs, {"mlflowCredentials": dict(self.passwords)})

    def destroy(self, audit_id: str, on_output: Callable[[str], None], ca_bundle: Path | None = None) -> bool:
        self.destroys.append(audit_id)
        self.ca_bundles.append(ca_bundle)
        existed = audit_id in self.stacks
        self.stacks.discard(audit_id)
        return existed


@pytest.fixture
def fake_pulumi(monkeypatch: pytest.MonkeyPatch) -> FakePulumi:
    """A Pulumi CLI 'on PATH', a passphrase, a deployed lab, and the engine replaced by :class:`FakePulumi`."""
    fake = FakePulumi()
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: "/usr/local/bin/pulumi")
    monkeypatch.setattr(lifecycle, "lab_stack_deployed", lambda project, stack: True)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-passphrase")
    monkeypatch.setattr(lifecycle, "up", fake.up)
    monkeypatch.setattr(lifecycle, "destroy", fake.destroy)
    monkeypatch.setattr(lifecycle, "backend_specs", lambda: ({}, {}))
    return fake


@pytest.fixture
def no_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Pulumi CLI on PATH, whatever this machine has."""
    monkeypatch.setattr(lifecycle, "pulumi_cli", lambda: None)
