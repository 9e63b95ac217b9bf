"""ailab's own MLflow server on one machine (``ailab lab local up|status|down``).

``mlflow server --app-name basic-auth`` on 127.0.0.1 with sqlite stores and artifacts under
``<data dir>/mlflow``, ``default_permission = NO_PERMISSIONS``, and admin credentials generated
on first start and kept in 0600 files. Users (the current login) get their own generated
password, also kept 0600: evaluation runs log as the user, never as the admin. Telemetry is off.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ailab.errors import MissingPrerequisiteError, OperationFailedError
from ailab.fsio import atomic_write_text
from ailab.home import private_dir, sub_dir

ADMIN_USERNAME = "ailab-admin"
STATE_NAME = "server.json"
ADMIN_NAME = "admin.json"
USERS_DIR = "users"
STARTUP_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
"""The lab never phones home: set for the server and for every MLflow client ailab runs."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


@dataclass(frozen=True)
class ServerState:
    pid: int
    port: int
    url: str
    healthy: bool


def root() -> Path:
    return sub_dir("mlflow")


def mlflow_executable() -> Path:
    executable = Path(sys.executable).with_name("mlflow")
    if not executable.exists():
        raise MissingPrerequisiteError(f"the mlflow command is not installed beside {sys.executable}; run make install")
    return executable


def admin_credentials() -> Credentials:
    """The admin's generated credentials (created, 0600, on first use)."""
    return _credentials(root() / ADMIN_NAME, ADMIN_USERNAME)


def _credentials(path: Path, username: str) -> Credentials:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(str(data["username"]), str(data["password"]))
    except FileNotFoundError:
        credentials = Credentials(username, secrets.token_urlsafe(24))
        atomic_write_text(path, json.dumps({"username": credentials.username, "password": credentials.password}) + "\n", 0o600)
        return credentials
    except (ValueError, KeyError) as err:
        raise OperationFailedError(f"{path}: unreadable credentials ({err}); remove it and run ailab lab local down/up") from None


def stored_user_password(username: str) -> str | None:
    path = private_dir(root() / USERS_DIR) / f"{username}.json"
    try:
        return str(json.loads(path.read_text(encoding="utf-8"))["password"])
    except FileNotFoundError:
        return None


def store_user_password(username: str, password: str) -> None:
    path = private_dir(root() / USERS_DIR) / f"{username}.json"
    atomic_write_text(path, json.dumps({"username": username, "password": password}) + "\n", 0o600)


EXPERIMENTS_FILE = "experiments.json"
"""The audit experiments ailab created on this server, name to id: the only ones it will use again."""


def recorded_experiment(name: str) -> str | None:
    """The id of the experiment ailab created as ``name`` on the local server, if it did."""
    try:
        recorded = json.loads((root() / EXPERIMENTS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise OperationFailedError(f"{root() / EXPERIMENTS_FILE}: unreadable ({err}); restore it or remove it") from None
    value = recorded.get(name) if isinstance(recorded, dict) else None
    return str(value) if value is not None else None


def record_experiment(name: str, experiment_id: str) -> None:
    path = root() / EXPERIMENTS_FILE
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        recorded = {}
    atomic_write_text(path, json.dumps({**recorded, name: experiment_id}, indent=2, sort_keys=True) + "\n", 0o600)


def status() -> ServerState | None:
    """The recorded server, with whether it answers; None when none was started or its process is gone."""
    state = _read_state()
    if state is None or not _alive(state.pid):
        return None
    return ServerState(state.pid, state.port, state.url, _healthy(state.url))


def up(port: int | None = None) -> ServerState:
    """Start the server, or return the running one."""
    current = status()
    if current is not None and current.healthy:
        return current
    if current is not None:
        down()
    base = root()
    admin = admin_credentials()
    config = base / "basic_auth.ini"
    atomic_write_text(
        config,
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{base / 'auth.db'}\n"
        f"admin_username = {admin.username}\n"
        f"admin_password = {admin.password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "auth_cache_ttl_seconds = 300\n",
        0o600,
    )
    secret = _credentials(base / "flask-secret.json", "flask").password
    chosen = port or _free_port()
    url = f"http://127.0.0.1:{chosen}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env |= NO_TELEMETRY | {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    command = [str(mlflow_executable()), "server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", str(chosen)]
    command += ["--workers", "1", "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(private_dir(base / "artifacts"))]
    log_path = base / "server.log"
    with os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        # Its own session: the server outlives this command, and stopping its group stops its workers.
        # umask 077: the stores it creates (sqlite files, artifacts) are the owner's only, like the credentials.
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=base, umask=0o077
        )
    atomic_write_text(base / STATE_NAME, json.dumps({"pid": process.pid, "port": chosen, "url": url}) + "\n", 0o600)
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise OperationFailedError(f"the MLflow server exited with {process.returncode}: {tail[0][:300]}; see {log_path}")
        if _healthy(url):
            return ServerState(process.pid, chosen, url, True)
        time.sleep(0.5)
    raise OperationFailedError(f"the MLflow server did not answer on {url} within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")


def down() -> bool:
    """Stop the recorded server; False when none was running."""
    state = _read_state()
    (root() / STATE_NAME).unlink(missing_ok=True)
    if state is None or not _alive(state.pid):
        return False
    os.killpg(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and _alive(state.pid):
        time.sleep(0.2)
    if _alive(state.pid):
        os.killpg(state.pid, signal.SIGKILL)
    return True


def _read_state() -> ServerState | None:
    try:
        data = json.loads((root() / STATE_NAME).read_text(encoding="utf-8"))
        return ServerState(int(data["pid"]), int(data["port"]), str(data["url"]), False)
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still "exists": reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
