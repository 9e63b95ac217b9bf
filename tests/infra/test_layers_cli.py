"""The two layers against the real Pulumi engine (tier ``pulumi_cli``): a file:// backend in tmp_path, the
passphrase secrets provider, no Pulumi account.

* The contract (:class:`~ailab.infra.contracts.KubernetesLayerInputs`) crosses a real ``StackReference``:
  exported by one stack, read back by another of the same project under the DIY backend's
  ``organization/ailab/<stack>`` name, secrets still secret. Needs only the CLI (no plugin, no cloud).
* ``pulumi preview`` of the real program as the infrastructure stack: needs AWS credentials (the
  program looks up the caller's account and the region's zones even in a preview) and the aws plugin.
* ``pulumi preview`` of the real program as the Kubernetes layer's stack, reading an infrastructure
  stack seeded with the contract's outputs: needs a cluster the kubernetes provider reaches
  (``AILAB_TEST_KUBECONFIG``: kind, k3d), because its Helm releases ask the cluster for its version
  even in a preview, and the chart repositories.

The sandbox program's preview against a lab stack is in ``tests/sandbox/test_lifecycle.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi import automation as auto
from tests.infra.layers import INFRA, K8S, REPO, split_project

from ailab.infra.contracts import IRSA_ROLE_ANNOTATION, ExternalMlflowStorage, KubernetesLayerInputs
from ailab.infra.layers import spec_digest, stack_reference_name
from ailab.spec import find_project, load_stack_spec

pytestmark = pytest.mark.pulumi_cli

EXAMPLE_PASSPHRASE = "ailab-example-passphrase"
NEEDS_AWS = "previewing the infrastructure layer needs AWS credentials (AWS_PROFILE or AWS_ACCESS_KEY_ID): it looks up the account and zones"
NEEDS_CLUSTER = (
    "previewing the Kubernetes layer needs a reachable test cluster (set AILAB_TEST_KUBECONFIG: kind, k3d) and its chart "
    "repositories: Helm releases ask the cluster for its version even in a preview"
)
CONTRACT = {
    "kubeconfig": "apiVersion: v1\nkind: Config\n# a test kubeconfig\n",
    "volume_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/0f0e0d0c-0000-4000-8000-000000000001",
    "backend_store_uri": "postgresql://mlflow:a-database-password@db.example:5432/mlflow?sslmode=verify-full",
    "artifacts_destination": "s3://ailab-artifacts-test/artifacts",
    "role_arn": "arn:aws:iam::123456789012:role/ailab-mlflow-test",
    "s3_endpoint_url": "https://bucket.vpce-0123.s3.eu-central-1.vpce.amazonaws.com",
    "lab_spec_digest": "0" * 64,
}


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", EXAMPLE_PASSPHRASE)
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    return f"file://{tmp_path / 'state'}"


def _inline_stack(name: str, program: Any, backend: str) -> auto.Stack:
    """A stack of the project ``ailab`` running an inline program (the lab program's name, the same backend)."""
    settings = auto.ProjectSettings(name="ailab", runtime="python", backend=auto.ProjectBackend(backend))
    options = auto.LocalWorkspaceOptions(secrets_provider="passphrase", project_settings=settings)
    return auto.create_or_select_stack(name, "ailab", program, opts=options)


def _infrastructure_outputs(kubeconfig: str, lab_spec_digest: str = CONTRACT["lab_spec_digest"]) -> Any:
    def program() -> None:
        pulumi.export("clusterName", "ailab-eu")
        KubernetesLayerInputs(
            kubeconfig=kubeconfig,
            volume_key_arn=CONTRACT["volume_key_arn"],
            mlflow_storage=ExternalMlflowStorage(
                backend_store_uri=pulumi.Output.from_input(CONTRACT["backend_store_uri"]),
                artifacts_destination=CONTRACT["artifacts_destination"],
                service_account_annotations={IRSA_ROLE_ANNOTATION: CONTRACT["role_arn"]},
                s3_endpoint_url=CONTRACT["s3_endpoint_url"],
            ),
            lab_spec_digest=lab_spec_digest,
        ).export()

    return program


def _read_back() -> None:
    reference = pulumi.StackReference("infrastructure", stack_reference_name("ailab", INFRA))
    inputs = KubernetesLayerInputs.from_reference(reference, with_reaper=False)
    storage = inputs.mlflow_storage
    pulumi.export("kubeconfig", inputs.kubeconfig)
    pulumi.export("volume_key_arn", inputs.volume_key_arn)
    pulumi.export("backend_store_uri", storage.backend_store_uri)
    pulumi.export("artifacts_destination", storage.artifacts_destination)
    pulumi.export("role_arn", storage.service_account_annotations[IRSA_ROLE_ANNOTATION])
    pulumi.export("s3_endpoint_url", storage.s3_endpoint_url)
    pulumi.export("lab_spec_digest", inputs.lab_spec_digest)


def test_the_contract_crosses_a_real_stack_reference(backend: str) -> None:
    infrastructure = _inline_stack(INFRA, _infrastructure_outputs(CONTRACT["kubeconfig"]), backend)
    infrastructure.up(on_output=lambda _line: None)
    kubernetes = _inline_stack(K8S, _read_back, backend)
    try:
        outputs = kubernetes.up(on_output=lambda _line: None).outputs
        assert {name: output.value for name, output in outputs.items()} == CONTRACT
        assert {name for name, output in outputs.items() if output.secret} == {"kubeconfig", "backend_store_uri"}
        exported = infrastructure.outputs()
        assert exported["kubeconfig"].secret and exported["mlflowBackendStoreUri"].secret
        assert not exported["mlflowRoleArn"].secret
    finally:
        # The Kubernetes layer goes first, as in docs/deploy.md: it reads the infrastructure stack.
        kubernetes.destroy(on_output=lambda _line: None)
        kubernetes.workspace.remove_stack(K8S)
        infrastructure.destroy(on_output=lambda _line: None)
        infrastructure.workspace.remove_stack(INFRA)


def _cli_project(tmp_path: Path) -> Path:
    """The split project, running the repository's program with its virtual environment."""
    root = split_project(tmp_path / "project")
    (root / "src").symlink_to(REPO / "src")
    (root / ".venv").symlink_to(REPO / ".venv")
    (root / "Pulumi.yaml").write_text(
        "name: ailab\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\nmain: src/\nstackConfigDir: stacks\n"
    )
    return root


def _preview(root: Path, stack: str, backend: str) -> list[dict[str, Any]]:
    """The steps of ``pulumi preview --json`` of ``stack``, after ``pulumi stack init`` keeps its stack file's salt."""
    env = os.environ | {"PULUMI_BACKEND_URL": backend}
    subprocess.run(["pulumi", "stack", "init", stack, "--non-interactive"], cwd=root, env=env, check=True, capture_output=True)
    done = subprocess.run(
        ["pulumi", "preview", "--stack", stack, "--json", "--non-interactive"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:] or done.stdout[-4000:]
    steps: list[dict[str, Any]] = json.loads(done.stdout).get("steps", [])
    return steps


def _types(steps: list[dict[str, Any]]) -> set[str]:
    """Each step's resource type: the last of the URN's qualified type (``urn:pulumi:<stack>::<project>::<parents$type>::<name>``)."""
    return {str(step["urn"]).split("::")[2].rsplit("$", 1)[-1] for step in steps}


@pytest.mark.skipif(not (os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID")), reason=NEEDS_AWS)
def test_preview_of_the_infrastructure_layer(tmp_path: Path, backend: str) -> None:
    types = _types(_preview(_cli_project(tmp_path), INFRA, backend))
    assert {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:rds/instance:Instance"} <= types
    assert not [t for t in types if t.startswith("kubernetes:") or t == "pulumi:providers:kubernetes"]


@pytest.mark.skipif(not os.environ.get("AILAB_TEST_KUBECONFIG"), reason=NEEDS_CLUSTER)
def test_preview_of_the_kubernetes_layer(tmp_path: Path, backend: str) -> None:
    kubeconfig = Path(os.environ["AILAB_TEST_KUBECONFIG"]).read_text()
    root = _cli_project(tmp_path)
    digest = spec_digest(load_stack_spec(K8S, find_project(root))[0])
    infrastructure = _inline_stack(INFRA, _infrastructure_outputs(kubeconfig, digest), backend)
    infrastructure.up(on_output=lambda _line: None)
    try:
        types = _types(_preview(root, K8S, backend))
        assert {"kubernetes:apps/v1:StatefulSet", "kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"} <= types
        assert not [t for t in types if t.startswith("aws:")]
    finally:
        infrastructure.destroy(on_output=lambda _line: None)
        infrastructure.workspace.remove_stack(INFRA)
