"""The Automation API lifecycle against a real Pulumi CLI and a local file backend (tier ``pulumi_cli``).

Skipped here: the Pulumi CLI is not obtainable in this environment (see tests/conftest.py for the
reason printed). Where it is installed, these tests run with a file backend in tmp_path and need
no account; the first run downloads the Kubernetes provider plugin that ``up`` installs.

A sandbox's own resources need a cluster and the lab's MLflow and Qdrant: ``up`` is exercised with
a program that only exports values, and the real sandbox program is previewed only when
``AILAB_TEST_KUBECONFIG`` names a reachable test cluster (kind, k3d).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pulumi
import pytest
from tests.sandbox.helpers import lab, make_spec

from ailab.infra.contracts import export_lab_outputs, lab_outputs
from ailab.sandbox import lifecycle
from ailab.sandbox.program import connection_from_stack, sandbox_program
from ailab.sandbox.request import SandboxSpec

pytestmark = pytest.mark.pulumi_cli


@pytest.fixture(autouse=True)
def local_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"file://{tmp_path / 'state'}"
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("AILAB_BACKEND_URL", url)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "lifecycle-test-passphrase")
    return url


def _exports_only(spec: SandboxSpec) -> Callable[[], None]:
    def program() -> None:
        pulumi.export("namespace", f"audit-{spec.audit_id}")
        pulumi.export("mlflowCredentials", pulumi.Output.secret({"alice": "pw-of-alice"}))

    return program


def test_up_outputs_backend_specs_resume_and_destroy() -> None:
    spec = make_spec(lab("aws-eu"))
    printed: list[str] = []
    deployed = lifecycle.up(spec, _exports_only(spec), resume=False, on_output=printed.append)
    assert deployed.outputs == {"namespace": "audit-2025-017-chatbot"}
    assert deployed.secrets == {"mlflowCredentials": {"alice": "pw-of-alice"}}
    assert printed  # the engine's progress was streamed
    assert lifecycle.backend_specs() == ({"2025-017-chatbot": spec}, {})

    again = lifecycle.up(spec, _exports_only(spec), resume=True, on_output=printed.append)  # refresh, then up: idempotent
    assert again.outputs == deployed.outputs

    assert lifecycle.destroy(spec.audit_id, printed.append) is True
    assert lifecycle.backend_specs() == ({}, {})
    assert lifecycle.destroy(spec.audit_id, printed.append) is False


def test_workspace_settings_persist_in_the_data_dir(local_backend: str) -> None:
    spec = make_spec(lab("aws-eu"), audit_id="settings-check")
    lifecycle.up(spec, _exports_only(spec), resume=False, on_output=lambda _line: None)
    settings = (lifecycle.workspace_dir() / "Pulumi.yaml").read_text()
    assert "name: ailab-sandboxes" in settings and local_backend in settings
    stack_file = (lifecycle.workspace_dir() / "Pulumi.settings-check.yaml").read_text()
    assert "encryptionsalt" in stack_file and "ailab-sandboxes:sandbox" in stack_file
    lifecycle.destroy(spec.audit_id, lambda _line: None)


@pytest.mark.skipif(
    not os.environ.get("AILAB_TEST_KUBECONFIG"),
    reason="previewing the sandbox program needs a reachable Kubernetes test cluster: set AILAB_TEST_KUBECONFIG (kind, k3d)",
)
def test_preview_of_the_real_program_against_a_test_cluster() -> None:
    """A lab stack exporting what the lab program exports, then a preview of the sandbox reading it."""
    from pulumi import automation as auto

    kubeconfig = Path(os.environ["AILAB_TEST_KUBECONFIG"]).read_text()
    lab_spec = lab("aws-eu")

    def lab_stack_program() -> None:
        """What the lab program exports (the one contract), with the test cluster's kubeconfig."""
        export_lab_outputs(lab_outputs(lab_spec, pulumi.Output.secret(kubeconfig)))

    lab_stack = auto.create_or_select_stack(
        "test-lab",
        "ailab",
        lab_stack_program,
        opts=auto.LocalWorkspaceOptions(
            secrets_provider="passphrase",
            project_settings=auto.ProjectSettings(
                name="ailab", runtime="python", backend=auto.ProjectBackend(os.environ["AILAB_BACKEND_URL"])
            ),
        ),
    )
    lab_stack.up(on_output=lambda _line: None)
    try:
        spec = make_spec(lab_spec, lab_stack="test-lab")
        program = sandbox_program(spec, lab_spec, lambda: connection_from_stack(lab_spec, "test-lab"))
        stack = lifecycle.open_stack(spec.audit_id, program, create=True)
        preview = stack.preview(on_output=lambda _line: None)
        assert preview.change_summary.get("create", 0) >= 15
        stack.workspace.remove_stack(spec.audit_id)
    finally:
        lab_stack.destroy(remove=True, on_output=lambda _line: None)
