"""The local server's bookkeeping without a server: credentials generated once and private, status and down when none runs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ailab.services.mlflow import local_server


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AILAB_HOME", str(tmp_path))
    return tmp_path


def test_admin_credentials_are_generated_once_and_private(home: Path):
    first = local_server.admin_credentials()
    again = local_server.admin_credentials()
    assert first == again and len(first.password) >= 32
    path = home / "mlflow" / "admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "mlflow").stat().st_mode) == 0o700


def test_user_passwords_are_kept_private(home: Path):
    assert local_server.stored_user_password("alice") is None
    local_server.store_user_password("alice", "s3cret")
    assert local_server.stored_user_password("alice") == "s3cret"
    assert stat.S_IMODE((home / "mlflow" / "users" / "alice.json").stat().st_mode) == 0o600


def test_status_and_down_without_a_server(home: Path):
    assert local_server.status() is None
    assert local_server.down() is False
    # A recorded server whose process is gone is not running, and down forgets it.
    (home / "mlflow" / "server.json").write_text(json.dumps({"pid": 2**22 + 12345, "port": 1, "url": "http://127.0.0.1:1"}))
    assert local_server.status() is None
    assert local_server.down() is False and not (home / "mlflow" / "server.json").exists()


def test_corrupt_credentials_are_named(home: Path):
    from ailab.errors import OperationFailedError

    (home / "mlflow").mkdir(mode=0o700)
    (home / "mlflow" / "admin.json").write_text("{not json")
    with pytest.raises(OperationFailedError, match=r"admin\.json: unreadable credentials"):
        local_server.admin_credentials()
