"""The MLflow container as planned, run for real: its command, its literal environment and its auth file.

The planned Deployment's args and environment are used as they are, except what only a cluster
has: the database (sqlite here), the artifact directory, the listening address and the
Secrets' values, which are rendered locally by the same functions the program uses. What this
proves: the settings are ones MLflow accepts and acts on (basic-auth with NO_PERMISSIONS, the
Host allowlist, job execution off, the ``audit/`` names reserved to admins), and the auth file
survives MLflow's config parser.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.mlflow_process import clean_environment, free_port, running_server

from ailab.infra.k8s import mlflow

pytestmark = pytest.mark.integration
IN_CLUSTER_HOST = "mlflow.ailab-mlflow.svc.cluster.local:5000"


def local_args(planned: list[str], port: int, artifacts: Path) -> list[str]:
    """The planned args with this machine's address, port and artifact directory."""
    replacements = {"--host": "127.0.0.1", "--port": str(port), "--artifacts-destination": str(artifacts)}
    args = list(planned)
    for flag, value in replacements.items():
        args[args.index(flag) + 1] = value
    return [*args, "--workers", "1"]


@pytest.fixture(scope="module")
def server(onprem, env, tmp_path_factory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    root = tmp_path_factory.mktemp("mlflow-planned")
    container = onprem.container("Deployment", "mlflow")
    literal = {name: value for name, value in env(container).items() if isinstance(value, str)}
    auth_file = root / mlflow.AUTH_CONFIG_FILE
    auth_file.write_text(mlflow.auth_config(onprem.spec, f"sqlite:///{root / 'mlflow.db'}"))
    # The Secret's other file, beside the ini file as in the pod.
    (root / mlflow.AUTH_MODULE_FILE).write_text(mlflow.auth_module_source())
    variables = clean_environment()
    variables |= literal | {
        "HOME": str(root),
        "PYTHONPATH": str(root),
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_file),
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": mlflow.flask_secret_key(onprem.spec),
    }
    assert set(env(container)) <= set(variables), "every planned variable is set"
    port = free_port()
    with running_server(local_args(container["args"], port, root / "artifacts"), variables, port, root / "server.log") as running:
        yield running


def session_commands(session_id: int) -> list[str]:
    """Command lines of the processes in the server's session (it and everything it started)."""
    commands = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getsid(int(proc.name)) == session_id:
                commands.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
    return commands


def test_requests_need_credentials(server):
    url, _ = server
    assert httpx.get(f"{url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=30).status_code == 401


def test_the_in_cluster_host_is_accepted_and_others_refused(server, secrets):
    url, _ = server
    auth = ("admin", secrets.admin_password)
    search = f"{url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert httpx.get(search, auth=auth, headers={"Host": IN_CLUSTER_HOST}, timeout=30).status_code == 200
    assert httpx.get(search, auth=auth, headers={"Host": "attacker.example.com"}, timeout=30).status_code == 403


def test_nobody_sees_an_experiment_they_were_not_granted(server, secrets):
    url, _ = server
    admin = ("admin", secrets.admin_password)
    api = f"{url}/api/2.0/mlflow"
    created = httpx.post(f"{api}/experiments/create", json={"name": "audit/planned-check"}, auth=admin, timeout=30)
    assert created.status_code == 200, created.text
    experiment_id = created.json()["experiment_id"]
    user = ("auditor-planned-check", "a-long-password-for-the-check-0123")
    made = httpx.post(f"{api}/users/create", json={"username": user[0], "password": user[1]}, auth=admin, timeout=30)
    assert made.status_code == 200, made.text
    seen = httpx.get(f"{api}/experiments/get", params={"experiment_id": experiment_id}, auth=user, timeout=30)
    assert seen.status_code == 403


def test_audit_names_are_reserved_to_the_admin(server, secrets):
    url, _ = server
    admin = ("admin", secrets.admin_password)
    api = f"{url}/api/2.0/mlflow"
    user = ("auditor-planned-names", "a-long-password-for-the-check-4567")
    made = httpx.post(f"{api}/users/create", json={"username": user[0], "password": user[1]}, auth=admin, timeout=30)
    assert made.status_code == 200, made.text
    squat = httpx.post(f"{api}/experiments/create", json={"name": "audit/planned-later"}, auth=user, timeout=30)
    assert squat.status_code == 403
    assert "only an MLflow admin" in squat.text
    own = httpx.post(f"{api}/experiments/create", json={"name": "scratch-planned"}, auth=user, timeout=30)
    assert own.status_code == 200, "other names stay open to every user"


def test_no_job_runner_is_started(server):
    _, process = server
    commands = session_commands(os.getsid(process.pid))
    assert any("mlflow" in command for command in commands)
    assert not [command for command in commands if "jobs" in command or "huey" in command]
