"""Fixtures of the service tests: a real MLflow server (integration tier) and a scripted HTTP server (unit tier)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

ADMIN = "admin"
STARTUP_TIMEOUT_S = 240  # 15-30 s on a 2-core machine shared by several test runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def closed_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class MlflowServer:
    url: str
    admin_password: str
    startup_s: float


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real ``mlflow server --app-name basic-auth`` on 127.0.0.1: sqlite stores, ``NO_PERMISSIONS`` by default.

    One per test session: it takes seconds to start and the machine is small.
    """
    executable = Path(sys.executable).with_name("mlflow")
    if not executable.exists():
        pytest.skip(f"the mlflow server is not installed beside {sys.executable} (uv sync installs it with the dev group)")
    root = tmp_path_factory.mktemp("mlflow")
    password = secrets.token_urlsafe(16)
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Checking a password costs ~0.4 s of scrypt per request here; the cache remembers good ones.
        # With one worker, deleting a user or changing a password empties it at once, and it never
        # holds permission decisions: what the tests check is still decided on every request.
        "auth_cache_ttl_seconds = 300\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env |= {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        # The basic-auth app refuses to start without a static key (CSRF protection of its sign-up form).
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        # The job runner starts a dozen consumer processes the tests never use.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    port = free_port()
    command = [str(executable), "server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", "1", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    command += ["--default-artifact-root", str(root / "artifacts")]
    log_path = root / "server.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        # Its own process group: the server forks uvicorn, and the teardown stops both.
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, log_path, started)
        yield MlflowServer(url, password, time.monotonic() - started)
    finally:
        _stop(server)


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log_path: Path, started: float) -> None:
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@dataclass
class Scripted:
    """What the scripted server answers (status, body, delay) and the requests it received.

    ``{request}`` in ``body`` is replaced by the request's body, escaped for a JSON string.
    """

    status: int = 200
    body: str = "{}"
    content_type: str = "application/json"
    delay_s: float = 0.0
    requests: list[tuple[str, str, str]] = field(default_factory=list)


@pytest.fixture
def scripted_server() -> Iterator[tuple[str, Scripted]]:
    """An HTTP server on 127.0.0.1 answering every request with ``Scripted``'s status and body."""
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length).decode()
            script.requests.append((self.command, self.path, received))
            time.sleep(script.delay_s)
            payload = script.body.replace("{request}", json.dumps(received)[1:-1]).encode()
            self.send_response(script.status)
            self.send_header("Content-Type", script.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        # http.server dispatches to methods by these names.
        do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
