"""RFC 3161 timestamps over checkpoints, from a real `openssl ts` responder on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.trail.helpers import forge_checkpoints, read_lines, write_lines
from tests.trail.tsa_responder import make_authority, responder

from ailab.trail import AuditLog
from ailab.trail.signer import LocalKeySigner
from ailab.trail.tsa import HttpTimestamper, OpensslTimestampChecker, gen_time


@pytest.fixture(scope="module")
def tsa() -> Iterator[tuple[str, Path]]:
    with responder() as (url, roots):
        yield url, roots


def _stamped(tmp_path: Path, url: str, count: int = 3) -> AuditLog:
    log = AuditLog(tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), timestamper=HttpTimestamper(url))
    for index in range(count):
        log.append("sandbox.plan", audit_id="a", arguments={"index": index}, outcome="ok")
    return log


def test_every_checkpoint_carries_a_token_that_verifies(tmp_path: Path, tsa: tuple[str, Path]) -> None:
    url, roots = tsa
    log = _stamped(tmp_path, url)
    assert all(c.timestamp for c in log.checkpoints())
    verification = log.verify(timestamps=OpensslTimestampChecker(roots))
    assert (verification.problem, verification.timestamps) == (None, 3)


def test_the_hand_commands_of_the_docs_verify_a_token(tmp_path: Path, tsa: tuple[str, Path]) -> None:
    """docs/audit-trail.md: save the note and the token, then `openssl ts -verify` alone checks them."""
    url, roots = tsa
    signed = _stamped(tmp_path, url, count=1).checkpoints()[-1]
    assert signed.timestamp is not None
    (tmp_path / "checkpoint.note").write_text(signed.note)
    (tmp_path / "checkpoint.tsr").write_bytes(signed.timestamp)
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "checkpoint.note", "-in", "checkpoint.tsr", "-CAfile", str(roots)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "Verification: OK" in done.stdout


def test_a_token_from_another_authority_is_refused(tmp_path: Path, tsa: tuple[str, Path]) -> None:
    url, _ = tsa
    log = _stamped(tmp_path, url)
    (tmp_path / "other").mkdir()
    make_authority(tmp_path / "other", name="other")
    problem = log.verify(timestamps=OpensslTimestampChecker(tmp_path / "other" / "ca.crt")).problem
    assert problem is not None and problem.item == "checkpoint 1" and "timestamp does not verify" in problem.reason


def test_a_token_moved_to_another_checkpoint_is_refused(tmp_path: Path, tsa: tuple[str, Path]) -> None:
    url, roots = tsa
    log = _stamped(tmp_path, url)
    lines = read_lines(log.checkpoints_path)
    first, third = json.loads(lines[0]), json.loads(lines[2])
    from ailab.trail.jcs import canonicalize

    lines[2] = canonicalize({**third, "timestamp": first["timestamp"]})
    write_lines(log.checkpoints_path, lines)
    problem = log.verify(timestamps=OpensslTimestampChecker(roots)).problem
    assert problem is not None and problem.item == "checkpoint 3" and "timestamp does not verify" in problem.reason


def test_history_backdated_with_the_stolen_key_is_caught_by_the_timestamps(tmp_path: Path, tsa: tuple[str, Path]) -> None:
    """A key holder can re-sign old checkpoints, but the authority dates the new tokens today."""
    url, roots = tsa
    log = _stamped(tmp_path, url)
    from ailab.trail.jcs import canonicalize

    times = [(datetime.now(UTC) - timedelta(days=30, minutes=-i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for i in range(3)]
    lines = read_lines(log.path)
    write_lines(log.path, [canonicalize({**json.loads(line), "time": time}) for line, time in zip(lines, times, strict=True)])
    forge_checkpoints(log, log.signer, times=times)
    stamper = HttpTimestamper(url)
    restamped = []
    for line in read_lines(log.checkpoints_path):
        entry = json.loads(line)
        token = base64.b64encode(stamper.stamp(entry["note"].encode())).decode()
        restamped.append(canonicalize({**entry, "timestamp": token}))
    write_lines(log.checkpoints_path, restamped)
    assert log.verify().problem is None  # without the authority's roots, nothing shows
    problem = log.verify(timestamps=OpensslTimestampChecker(roots)).problem
    assert problem is not None and problem.item == "checkpoint 1" and "signed later than it claims" in problem.reason


def test_an_unreachable_authority_fails_the_checkpoint_not_the_record(tmp_path: Path) -> None:
    from ailab.errors import OperationFailedError

    log = AuditLog(
        tmp_path / "audit", signer=LocalKeySigner(tmp_path / "key.pem"), timestamper=HttpTimestamper("http://127.0.0.1:9/tsa", 2)
    )
    with pytest.raises(OperationFailedError, match=r"time-stamping authority http://127\.0\.0\.1:9/tsa: unreachable"):
        log.append("sandbox.plan", audit_id="a", arguments={}, outcome="ok")
    assert [r["seq"] for r in log.records()] == [1]


def test_gen_time_is_read_from_openssl_text() -> None:
    assert gen_time("Status: Granted.\nTime stamp: Dec  6 21:30:05.25 2026 GMT\n") == "2026-12-06T21:30:05.250000Z"
    assert gen_time("Time stamp: Jan 16 01:02:03 2027 GMT") == "2027-01-16T01:02:03.000000Z"
    with pytest.raises(ValueError, match="no time stamp"):
        gen_time("Status: Rejection")
