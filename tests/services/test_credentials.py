"""Generated passwords land in 0600 files, never readable by others, not even for a moment."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ailab import fsio
from ailab.errors import BadInputError, OperationFailedError
from ailab.services.credentials import credentials_path, read_credentials, write_credentials


@pytest.fixture(autouse=True)
def ailab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AILAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_path_is_private_under_the_data_dir(ailab_home) -> None:
    path = credentials_path("a1", "mlflow")
    assert path == ailab_home / "credentials" / "a1" / "mlflow.json"
    assert _mode(ailab_home / "credentials") == _mode(ailab_home / "credentials" / "a1") == 0o700


@pytest.mark.parametrize(("audit_id", "service"), [("../x", "mlflow"), ("a1", "../../etc"), ("A1", "mlflow"), ("", "mlflow")])
def test_unsafe_names_are_refused(audit_id, service) -> None:
    with pytest.raises(BadInputError, match="cannot name a credentials file"):
        credentials_path(audit_id, service)


def test_written_0600_and_merged() -> None:
    path = credentials_path("a1", "mlflow")
    write_credentials(path, "http://mlflow:5000", {"alice": "pw-a"})
    write_credentials(path, "http://mlflow:5000", {"bob": "pw-b"})
    assert _mode(path) == 0o600
    document = json.loads(path.read_text())
    assert document["service_url"] == "http://mlflow:5000"
    assert document["users"] == {"alice": "pw-a", "bob": "pw-b"}, "a password shown once is never dropped"
    assert read_credentials(path) == {"alice": "pw-a", "bob": "pw-b"}


def test_never_wider_than_0600_even_before_the_rename(monkeypatch, tmp_path) -> None:
    previous_umask = os.umask(0o000)  # the most permissive umask cannot widen it either
    seen: list[int] = []
    real_replace = os.replace

    def checking_replace(source, target):
        seen.append(stat.S_IMODE(os.stat(source).st_mode))
        real_replace(source, target)

    monkeypatch.setattr(fsio.os, "replace", checking_replace)
    try:
        target = tmp_path / "open" / "mlflow.json"
        target.parent.mkdir()
        target.write_text('{"users": {"bob": "pw-b"}}')
        target.chmod(0o644)  # an earlier, too open file is replaced, not rewritten in place
        write_credentials(target, "http://mlflow:5000", {"alice": "pw"})
    finally:
        os.umask(previous_umask)
    assert seen == [0o600]
    assert _mode(target) == 0o600


def test_a_corrupt_file_is_not_overwritten(tmp_path) -> None:
    path = tmp_path / "mlflow.json"
    path.write_text("not json")
    with pytest.raises(OperationFailedError, match="cannot read the credentials file"):
        write_credentials(path, "http://mlflow:5000", {"alice": "pw"})
    assert path.read_text() == "not json"
