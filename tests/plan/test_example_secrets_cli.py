"""The example stacks' ``secure:`` values decrypt with the documented example passphrase — checked by the real Pulumi CLI.

The values were produced in Pulumi's passphrase format (PBKDF2-SHA256, AES-256-GCM); only the CLI
can prove it reads them. ``pulumi config get`` needs no provider plugin and no cloud account.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.pulumi_cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PASSPHRASE = "ailab-example-passphrase"
SECRETS = ("mlflow.admin_password", "mlflow.database.password", "vector_db.api_key")
PLAINTEXT = {
    "mlflow.admin_password": "example-{stack}-mlflow-admin-change-me",
    "mlflow.database.password": "example-{stack}-database-change-me",
    "vector_db.api_key": "example-{stack}-qdrant-api-key-change-me-0123456789abcdef",
}


def _pulumi(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(["pulumi", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"pulumi {' '.join(args)}: {done.stderr.strip()}"
    return done.stdout


@pytest.mark.parametrize("stack", ["aws-eu", "onprem"])
def test_example_secrets_decrypt(tmp_path: Path, stack: str) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", project)
    shutil.copy(REPO / "stacks" / f"Pulumi.{stack}.yaml", project / "stacks")
    (tmp_path / "state").mkdir()
    env = os.environ | {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_CONFIG_PASSPHRASE": EXAMPLE_PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    _pulumi(["stack", "init", stack, "--non-interactive"], project, env)
    for path in SECRETS:
        value = _pulumi(["config", "get", "--path", f"ailab:lab.{path}", "--stack", stack], project, env).strip()
        assert value == PLAINTEXT[path].format(stack=stack), path
