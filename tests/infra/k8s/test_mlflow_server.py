"""The MLflow container as planned, run for real: its command, its literal environment and its auth file.

The planned Deployment's args and environment are used as they are, except what only a cluster
has: the database (sqlite here), the artifact directory, the listening address and the
Secrets' values, which are rendered locally by the same functions the program uses. What this
proves: the settings are ones MLflow accepts and acts on (basic-auth with NO_PERMISSIONS, the
Host allowlist, job execution off), and the auth file survives MLflow's config parser.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ailab.infra.k8s import mlflow

pytestmark = pytest.mark.integration
STARTUP_TIMEOUT_S = 240  # 15-30 s on a 2-core machine shared by several test runs
IN_CLUSTER_HOST = "mlflow.ailab-mlflow.svc.cluster.local:5000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_args(planned: list[str], port: int, artifacts: Path) -> list[str]:
    """The planned args with this machine's address, port and artifact directory."""
    replacements = {"--host": "127.0.0.1", "--port": str(port), "--artifacts-destination": str(artifacts)}
    args = list(planned)
    for flag, value in replacements.items():
        args[args.index(flag) + 1] = value
    return [*args, "--workers", "1"]


@pytest.fixture(scope="module")
def server(onprem, env, tmp_path_factory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    executable = Path(sys.executable).with_name("mlflow")
    if not executable.exists():
        pytest.skip(f"the mlflow server is not installed beside {sys.executable} (uv sync installs it with the dev group)")
    root = tmp_path_factory.mktemp("mlflow-planned")
    container = onprem.container("Deployment", "mlflow")
    literal = {name: value for name, value in env(container).items() if isinstance(value, str)}
    auth_file = root / mlflow.AUTH_CONFIG_FILE
    auth_file.write_text(mlflow.auth_config(onprem.spec, f"sqlite:///{root / 'mlflow.db'}"))
    variables = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    variables |= literal | {
        "HOME": str(root),
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_file),
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{root / 'mlflow.db'}",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": mlflow.flask_secret_key(onprem.spec),
    }
    assert set(env(container)) <= set(variables), "every planned variable is set"
    port = free_port()
    command = [str(executable), *local_args(container["args"], port, root / "artifacts")]
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=variables, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path)
        yield url, process
    finally:
        stop(process)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


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


def test_no_job_runner_is_started(server):
    _, process = server
    commands = session_commands(os.getsid(process.pid))
    assert any("mlflow" in command for command in commands)
    assert not [command for command in commands if "jobs" in command or "huey" in command]
