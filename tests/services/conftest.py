"""Fixtures of the service tests: a real MLflow server (integration tier) and a scripted HTTP server (unit tier)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.mlflow_process import clean_environment, free_port, running_server

ADMIN = "admin"


@pytest.fixture
def closed_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class MlflowServer:
    url: str
    admin_password: str
    startup_s: float


STOCK_AUTHORIZATION_FUNCTION = "mlflow.server.auth:authenticate_request_basic_auth"


def _mlflow_server(root: Path, *, lab_rule: bool) -> Iterator[MlflowServer]:
    """A real ``mlflow server --app-name basic-auth`` on 127.0.0.1: sqlite stores, ``NO_PERMISSIONS`` by default,
    artifacts proxied (``--serve-artifacts``) as in the lab; ``lab_rule``: with the lab's authorization function."""
    # Imported here: the deployment module brings pulumi_kubernetes (a second), which the unit tests need not pay.
    from ailab.infra.k8s import mlflow as mlflow_deployment

    authorization_function = mlflow_deployment.AUTHORIZATION_FUNCTION if lab_rule else STOCK_AUTHORIZATION_FUNCTION
    password = secrets.token_urlsafe(16)
    config = root / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {password}\n"
        f"authorization_function = {authorization_function}\n"
        # Checking a password costs ~0.4 s of scrypt per request here; the cache remembers good ones.
        # With one worker, deleting a user or changing a password empties it at once, and it never
        # holds permission decisions: what the tests check is still decided on every request.
        "auth_cache_ttl_seconds = 300\n"
    )
    # The lab's authorization function, as the pod has it: a file beside the ini, on PYTHONPATH.
    (root / mlflow_deployment.AUTH_MODULE_FILE).write_text(mlflow_deployment.auth_module_source())
    env = clean_environment()
    env |= {
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "PYTHONPATH": str(root),
        # The basic-auth app refuses to start without a static key (CSRF protection of its sign-up form).
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        # The job runner starts a dozen consumer processes the tests never use.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    port = free_port()
    arguments = ["server", "--app-name", "basic-auth", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # Artifacts proxied as the lab serves them: experiments get ``mlflow-artifacts:/<id>``.
    arguments += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--serve-artifacts"]
    arguments += ["--artifacts-destination", str(root / "artifacts")]
    started = time.monotonic()
    with running_server(arguments, env, port, root / "server.log") as (url, _):
        yield MlflowServer(url, password, time.monotonic() - started)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """The server as ailab deploys it: basic-auth with the lab's authorization function (``audit/`` names are the admin's).

    One per test session: it takes seconds to start and the machine is small.
    """
    yield from _mlflow_server(tmp_path_factory.mktemp("mlflow"), lab_rule=True)


@pytest.fixture(scope="session")
def stock_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """MLflow's basic-auth exactly as shipped (its own authorization function): any user may create or rename
    experiments to any name, so ailab's own checks are all that stands in an attacker's way."""
    yield from _mlflow_server(tmp_path_factory.mktemp("mlflow-stock"), lab_rule=False)


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
