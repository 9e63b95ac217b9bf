"""Where the dynamic providers reach MLflow and Qdrant: the process's environment first, the recorded URL
second, TLS verified against the lab's CA; and a moved endpoint never replaces an audit's data."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tests.lab_ca import LabCa

from ailab.errors import BadInputError, OperationFailedError
from ailab.services.endpoint import admin_endpoint, lab_tls
from ailab.services.mlflow import AuditExperimentProvider, MlflowAdmin
from ailab.services.qdrant import AuditCollectionProvider
from ailab.services.qdrant.collections import create_collection, session
from ailab.spec.service_env import CA_BUNDLE_ENV, MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV

API_KEY = "lab-qdrant-api-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_endpoint_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV, CA_BUNDLE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_the_environment_names_the_endpoint_else_the_recorded_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert admin_endpoint(MLFLOW_ADMIN_URL_ENV, "https://mlflow.lab.example").url == "https://mlflow.lab.example"
    monkeypatch.setenv(MLFLOW_ADMIN_URL_ENV, "http://mlflow.ailab-mlflow.svc.cluster.local:5000")
    assert (
        admin_endpoint(MLFLOW_ADMIN_URL_ENV, "https://mlflow.lab.example").url
        == "http://mlflow.ailab-mlflow.svc.cluster.local:5000"
    )
    assert admin_endpoint(QDRANT_ADMIN_URL_ENV, "https://qdrant.lab.example").url == "https://qdrant.lab.example"


def test_tls_is_always_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for context in (lab_tls(), _with_bundle(tmp_path, monkeypatch)):
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname is True


def _with_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    ca = LabCa.make()
    bundle = tmp_path / "lab-ca.pem"
    bundle.write_bytes(ca.pem)
    monkeypatch.setenv(CA_BUNDLE_ENV, str(bundle))
    context = lab_tls()
    assert [cert["subject"] for cert in context.get_ca_certs()] == [((("commonName", "ailab test CA"),),)], "the lab's CA alone"
    return context


@pytest.mark.parametrize(("content", "match"), [(None, "no such file"), (b"not a certificate", "not a PEM CA certificate")])
def test_a_bad_ca_bundle_is_one_line_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content, match) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)
    monkeypatch.setenv(CA_BUNDLE_ENV, str(bundle))
    with pytest.raises(BadInputError, match=match) as failure:
        lab_tls()
    assert str(failure.value).startswith(f"{CA_BUNDLE_ENV}={bundle}") and "\n" not in str(failure.value)


def test_mlflow_over_https_trusts_the_lab_ca_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = LabCa.make()
    with _https_server(tmp_path, ca) as url:
        # Without the lab's CA the certificate is refused: the request never reaches the server.
        with (
            MlflowAdmin(url, "admin", "pw", retries=0, tls=lab_tls()) as mlflow,
            pytest.raises(OperationFailedError, match=r"unreachable.*CERTIFICATE_VERIFY_FAILED"),
        ):
            mlflow.get_experiment("1")
        (tmp_path / "lab-ca.pem").write_bytes(ca.pem)
        monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp_path / "lab-ca.pem"))
        with MlflowAdmin(url, "admin", "pw", retries=0, tls=lab_tls()) as mlflow:
            assert mlflow.get_experiment("1") is None


def test_qdrant_over_https_trusts_the_lab_ca_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = LabCa.make()
    with _https_server(tmp_path, ca) as url:
        with (
            pytest.raises(OperationFailedError, match=r"unreachable.*CERTIFICATE_VERIFY_FAILED"),
            session(url, API_KEY, tls=lab_tls()) as client,
        ):
            client.collection_exists("audit_a1")
        (tmp_path / "lab-ca.pem").write_bytes(ca.pem)
        monkeypatch.setenv(CA_BUNDLE_ENV, str(tmp_path / "lab-ca.pem"))
        # Past TLS, the server's answer (a 404 here) is what fails: the certificate was accepted.
        with pytest.raises(OperationFailedError, match=r"failed \(HTTP 404\)"), session(url, API_KEY, tls=lab_tls()) as client:
            client.collection_exists("audit_a1")


def test_mlflow_delete_calls_the_endpoint_of_this_process(scripted_server, closed_url, monkeypatch) -> None:
    """The reaper deletes, inside the cluster, what a workstation created through the ingress: the recorded
    URL (here one where nothing listens) is not called when the environment names another."""
    url, script = scripted_server
    script.body = json.dumps({"users": [], "experiment": {"experiment_id": "7", "name": "other", "lifecycle_stage": "deleted"}})
    monkeypatch.setenv(MLFLOW_ADMIN_URL_ENV, url)
    recorded = {
        "tracking_url": closed_url,
        "admin_username": "admin",
        "admin_password": "pw",
        "audit_id": "a1",
        "experiment_name": "audit/a1",
    }
    AuditExperimentProvider().delete("7", recorded)
    assert script.requests and all(path.startswith("/api/") for _, path, _ in script.requests)


def test_qdrant_delete_calls_the_endpoint_of_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = f"file://{tmp_path / 'reachable'}"
    with session(here) as client:
        create_collection(client, "audit_a1", 4, "Cosine")
    monkeypatch.setenv(QDRANT_ADMIN_URL_ENV, here)
    AuditCollectionProvider().delete("audit_a1", {"url": "https://qdrant.unreachable.example", "api_key": API_KEY})
    with session(here) as client:
        assert not client.collection_exists("audit_a1")


def test_a_moved_endpoint_updates_and_never_replaces() -> None:
    experiment = {
        "tracking_url": "http://mlflow.ailab-mlflow.svc.cluster.local:5000",
        "audit_id": "a1",
        "experiment_name": "audit/a1",
    }
    diff = AuditExperimentProvider().diff("7", experiment, {**experiment, "tracking_url": "https://mlflow.lab.example"})
    assert diff.changes is True and diff.replaces == []
    collection = {"url": "http://qdrant.ailab-vectordb.svc.cluster.local:6333", "collection": "audit_a1", "vector_size": 768}
    diff = AuditCollectionProvider().diff("audit_a1", collection, {**collection, "url": "https://qdrant.lab.example"})
    assert diff.changes is True and diff.replaces == []


class _NotFound(BaseHTTPRequestHandler):
    """MLflow's answer to a missing experiment."""

    def do_GET(self) -> None:  # http.server dispatches by this name
        body = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no experiment"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _https_server(tmp_path: Path, ca: LabCa) -> Iterator[str]:
    """An https server for ``localhost`` on 127.0.0.1, its certificate issued by ``ca``."""
    cert, key = ca.issue("localhost")
    (tmp_path / "server.pem").write_bytes(cert)
    (tmp_path / "server.key").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
