"""The write-once copy: a directory, and S3 Object Lock against a real S3-compatible server on 127.0.0.1.

The S3 server is moto in server mode (a real HTTP S3 endpoint that enforces Object Lock COMPLIANCE
retention and If-None-Match). SeaweedFS's S3 gateway was not used: its issue tracker reports
COMPLIANCE retention accepted but not enforced on DELETE (seaweedfs#7194, #11333).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer
from tests.trail.helpers import forge_checkpoints, read_lines, write_lines

from ailab.trail import AuditLog, TrailBrokenError
from ailab.trail.jcs import canonicalize
from ailab.trail.signer import LocalKeySigner
from ailab.trail.store import DirectoryStore, ObjectStore, S3Store

BUCKET = "ailab-evidence-test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, request: pytest.FixtureRequest) -> Any:
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    bucket = f"{BUCKET}-{abs(hash(request.node.name)) % 10**8}"
    client.create_bucket(
        Bucket=bucket, ObjectLockEnabledForBucket=True, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return client, bucket


def _log(tmp_path: Path, store: ObjectStore) -> AuditLog:
    log = AuditLog(tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), store=store)
    for index in range(5):
        log.append("sandbox.plan", audit_id="a", arguments={"index": index}, outcome="ok")
    return log


def _cut_last(log: AuditLog) -> None:
    """Cut the last record and its checkpoint: locally undetectable (a valid shorter trail)."""
    write_lines(log.path, read_lines(log.path)[:-1])
    write_lines(log.checkpoints_path, read_lines(log.checkpoints_path)[:-1])
    log.leaves_path.unlink()


def test_a_directory_store_catches_a_local_cut(tmp_path: Path) -> None:
    log = _log(tmp_path, DirectoryStore(tmp_path / "store"))
    assert sorted(p.name for p in (tmp_path / "store" / "records").iterdir())[-1] == "000000000005.json"
    assert log.verify().problem is None
    _cut_last(log)
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 5" and "the store's checkpoint signed 5 records" in problem.reason


def test_s3_copies_are_locked_and_catch_a_cut_and_a_rewrite(tmp_path: Path, s3: tuple[Any, str]) -> None:
    client, bucket = s3
    log = _log(tmp_path, S3Store(bucket, prefix="trail/", retention_days=1, client=client))
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "trail/records/000000000005.json" in keys and "trail/checkpoints/000000000005.json" in keys
    head = client.head_object(Bucket=bucket, Key="trail/checkpoints/000000000005.json")
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(hours=23)

    version = head["VersionId"]
    with pytest.raises(ClientError, match="AccessDenied"):  # Object Lock: nobody deletes a locked version
        client.delete_object(Bucket=bucket, Key="trail/checkpoints/000000000005.json", VersionId=version)
    with pytest.raises(ClientError, match="PreconditionFailed"):
        client.put_object(Bucket=bucket, Key="trail/checkpoints/000000000005.json", Body=b"x", IfNoneMatch="*")

    _cut_last(log)
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 5" and "the store's checkpoint signed 5 records" in problem.reason

    # The key holder rewrites history consistently and appends: the store refuses the new copies and verify names it.
    lines = read_lines(log.path)
    lines[1] = canonicalize({**json.loads(lines[1]), "outcome": "refused"})
    write_lines(log.path, lines)
    forge_checkpoints(log, log.signer)
    with pytest.raises(TrailBrokenError, match="checkpoint of 5 records is not a prefix"):
        log.append("sandbox.plan", audit_id="a", arguments={}, outcome="ok")
    problem = log.verify().problem
    assert problem is not None and problem.item == "records 1-5" and "the store's checkpoint's signed root" in problem.reason


def test_a_forged_object_in_the_store_is_named(tmp_path: Path, s3: tuple[Any, str]) -> None:
    client, bucket = s3
    log = _log(tmp_path, S3Store(bucket, retention_days=1, client=client))
    client.put_object(Bucket=bucket, Key="checkpoints/000000000009.json", Body=b'{"note":"forged"}')
    problem = log.verify().problem
    assert problem is not None and problem.item == "store" and "checkpoints/000000000009.json" in problem.reason


def test_a_store_catches_the_whole_trail_removed(tmp_path: Path) -> None:
    log = _log(tmp_path, DirectoryStore(tmp_path / "store"))
    for path in (log.path, log.checkpoints_path, log.leaves_path):
        path.unlink()
    problem = log.verify().problem
    assert problem is not None and "the store's checkpoint signed 5 records, the trail has 0" in problem.reason


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ailab.errors import BadInputError
    from ailab.trail.settings import store_from_environment, timestamper_from_environment

    monkeypatch.setenv("AILAB_TRAIL_STORE", "s3://evidence/lab-a")
    monkeypatch.setenv("AILAB_TRAIL_RETENTION_DAYS", "2555")
    monkeypatch.setenv("AILAB_TRAIL_S3_ENDPOINT", "http://127.0.0.1:1")
    store = store_from_environment()
    assert isinstance(store, S3Store) and (store.bucket, store.prefix, store.retention_days) == ("evidence", "lab-a/", 2555)
    monkeypatch.setenv("AILAB_TRAIL_STORE", str(tmp_path))
    assert isinstance(store_from_environment(), DirectoryStore)
    monkeypatch.setenv("AILAB_TRAIL_STORE", "s3://evidence")
    monkeypatch.setenv("AILAB_TRAIL_RETENTION_DAYS", "forever")
    with pytest.raises(BadInputError, match="AILAB_TRAIL_RETENTION_DAYS=forever"):
        store_from_environment()
    monkeypatch.setenv("AILAB_TRAIL_TSA_URL", "ftp://tsa")
    with pytest.raises(BadInputError, match="AILAB_TRAIL_TSA_URL"):
        timestamper_from_environment()


def test_the_store_holds_every_record_and_checkpoint_byte_for_byte(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), store=DirectoryStore(tmp_path / "store"))
    for index in range(7):
        log.append("sandbox.plan", audit_id="a", arguments={"index": index}, outcome="ok")
    log.checkpoint_every = 3  # a bulk writer: copies follow each signed checkpoint, not each record
    for index in range(4):  # records 8 to 11: a checkpoint signs 9
        log.append("sandbox.plan", audit_id="a", arguments={"index": index}, outcome="ok")
    stored = sorted((tmp_path / "store" / "records").iterdir())
    assert [p.name for p in stored] == [f"{seq:012d}.json" for seq in range(1, 10)]  # 10 and 11 are not signed yet
    assert [p.read_bytes() for p in stored] == read_lines(log.path)[:9]
    checkpoints = sorted((tmp_path / "store" / "checkpoints").iterdir())
    assert [p.read_bytes() for p in checkpoints] == read_lines(log.checkpoints_path)
    log.checkpoint()
    assert len(list((tmp_path / "store" / "records").iterdir())) == 11
