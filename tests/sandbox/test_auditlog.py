"""The audit log: a valid chain verifies, any single-byte change is named, concurrent writers keep it valid."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ailab.sandbox import auditlog
from ailab.sandbox.auditlog import GENESIS, AuditLog, canonical, record_hash, verify_bytes


def _filled(path: Path) -> AuditLog:
    log = AuditLog(path)
    log.append(
        "sandbox.plan", audit_id="2025-017-chatbot", arguments={"team": "alice,bob"}, outcome="ok", verdict={"result": "pass"}
    )
    log.append(
        "sandbox.create", audit_id="../x", arguments={"audit_id": "../x"}, outcome="refused", detail="audit id '../x': ..."
    )
    log.append("sandbox.create", audit_id="2025-017-chatbot", arguments={"purpose": "Évaluation « biais » ✓"}, outcome="ok")
    log.append("sandbox.reap", audit_id=None, arguments={"dry_run": True}, outcome="ok", detail="nothing expired")
    return log


@pytest.fixture(scope="module")
def log_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _filled(tmp_path_factory.mktemp("log") / "audit.log.jsonl").path.read_bytes()


def test_records_chain_and_verify(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    records = list(log.records())
    assert [r["seq"] for r in records] == [1, 2, 3, 4]
    assert records[0]["prev"] == GENESIS
    assert all(later["prev"] == earlier["hash"] for earlier, later in itertools.pairwise(records))
    assert all(r["hash"] == record_hash(r) for r in records)
    assert {"user", "host", "pid"} <= set(records[0]["actor"])
    assert log.verify() == (4, None)
    assert oct(log.path.stat().st_mode & 0o777) == "0o600"


def test_each_line_is_canonical_json(log_bytes: bytes) -> None:
    for line in log_bytes.splitlines():
        assert canonical(json.loads(line)) == line


def test_every_position_flipped_is_detected(log_bytes: bytes) -> None:
    """Exhaustively: flipping the lowest bit of any byte breaks the chain exactly at that byte's record."""
    line_of = [log_bytes[:index].count(b"\n") + 1 for index in range(len(log_bytes))]
    for index in range(len(log_bytes)):
        mutated = bytearray(log_bytes)
        mutated[index] ^= 0x01
        _, broken = verify_bytes(bytes(mutated))
        assert broken is not None, index
        assert broken.seq == line_of[index], (index, broken)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_detected(log_bytes: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(log_bytes) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != log_bytes[index]), label="new byte")
    mutated = bytearray(log_bytes)
    mutated[index] = value
    _, broken = verify_bytes(bytes(mutated))
    assert broken is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_byte_inserted_or_deleted_is_detected(log_bytes: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(log_bytes) - 1), label="position")
    if data.draw(st.booleans(), label="delete"):
        mutated = log_bytes[:index] + log_bytes[index + 1 :]
    else:
        mutated = log_bytes[:index] + bytes([data.draw(st.integers(0, 255), label="byte")]) + log_bytes[index:]
    _, broken = verify_bytes(mutated)
    assert broken is not None


def test_first_broken_record_is_named(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    lines = log.path.read_bytes().splitlines(keepends=True)
    forged = json.loads(lines[1])
    forged["outcome"] = "ok"
    forged["hash"] = record_hash(forged)  # a careful forger re-hashes the record ...
    lines[1] = canonical(forged) + b"\n"
    log.path.write_bytes(b"".join(lines))
    count, broken = log.verify()
    assert count == 2 and broken is not None
    assert broken.seq == 3 and "does not chain" in broken.reason  # ... and the next record gives it away


def test_removed_tail_is_detected_by_the_head(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:-1]))
    _, broken = log.verify()
    assert broken is not None and "records were removed" in broken.reason


@pytest.mark.parametrize("head", ['{"seq": -1, "hash": "x"}', '{"seq": 1e999, "hash": "x"}', '{"seq": "two"}', "[]", "{"])
def test_a_damaged_head_file_is_a_break_not_a_crash(tmp_path: Path, head: str) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    log.head_path.write_text(head)
    assert log.verify() == (4, auditlog.Break(5, "the head file audit.head is unreadable"))


def test_a_cut_stays_visible_after_the_next_append(tmp_path: Path) -> None:
    """The next operation after a cut does not paper over it: its record is numbered on from the head."""
    log = _filled(tmp_path / "audit.log.jsonl")
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:-2]))
    assert log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")["seq"] == 5
    count, broken = log.verify()
    assert count == 2 and broken is not None
    assert broken.seq == 3 and "out of sequence (says 5)" in broken.reason


def test_a_removed_log_stays_visible_after_the_next_append(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    log.path.unlink()
    log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")
    assert log.verify() == (0, auditlog.Break(1, "out of sequence (says 5): a record was removed, inserted or reordered"))


def test_removed_log_is_detected_by_the_head(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    log.path.unlink()
    _, broken = log.verify()
    assert broken is not None and broken.seq == 1 and "says the log has 4 records, it ends after 0" in broken.reason


def test_no_log_and_no_head_is_an_empty_log(tmp_path: Path) -> None:
    assert AuditLog(tmp_path / "audit.log.jsonl").verify() == (0, None)
    assert AuditLog(tmp_path / "missing" / "audit.log.jsonl").verify() == (0, None)


def test_removed_middle_record_is_detected(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    lines = log.path.read_bytes().splitlines(keepends=True)
    log.path.write_bytes(b"".join(lines[:1] + lines[2:]))
    _, broken = log.verify()
    assert broken is not None and broken.seq == 2


def test_appending_after_damage_continues_and_verify_names_the_damage(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.log.jsonl")
    with log.path.open("ab") as stream:
        stream.write(b"garbage\n")
    record = log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")
    assert record["seq"] == 6
    _, broken = log.verify()
    assert broken is not None and broken.seq == 5


def test_a_record_appended_while_verify_runs_is_no_break(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log and its head are read together: a writer that appends between the two reads must not look like removed records."""
    log = _filled(tmp_path / "audit.log.jsonl")
    writer = threading.Thread(
        target=log.append, args=("sandbox.plan",), kwargs={"audit_id": "x", "arguments": {}, "outcome": "ok"}
    )

    def append_meanwhile(data: bytes) -> tuple[int, auditlog.Break | None]:
        writer.start()
        writer.join(timeout=10)  # it can finish only once verify no longer holds the log's lock
        return verify_bytes(data)

    monkeypatch.setattr(auditlog, "verify_bytes", append_meanwhile)
    assert log.verify() == (4, None)
    assert not writer.is_alive()
    monkeypatch.undo()
    assert log.verify() == (5, None)


WRITER = """
import sys, time
from pathlib import Path
from ailab.sandbox.auditlog import AuditLog
path, name, count, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
log = AuditLog(path)
while time.time() < start:
    time.sleep(0.005)
for index in range(count):
    log.append("sandbox.plan", audit_id=name, arguments={"index": index}, outcome="ok")
"""


def test_two_processes_appending_at_once_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log.jsonl"
    start = time.time() + 2.0  # both have imported ailab by then and start together
    count = 150
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(count), str(start)], env={**os.environ})
        for name in ("writer-a", "writer-b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    log = AuditLog(path)
    assert log.verify() == (2 * count, None)
    names = [record["audit_id"] for record in log.records()]
    assert names.count("writer-a") == names.count("writer-b") == count
    switches = sum(1 for a, b in itertools.pairwise(names) if a != b)
    assert switches >= 1  # they really did interleave
