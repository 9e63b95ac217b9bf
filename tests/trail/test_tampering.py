"""An attacker with write access to the trail's files, case by case (issue 16's 31 cases and more).

Each case edits the files as an attacker would and asserts :meth:`AuditLog.verify` names the first
failing item. Cases marked *witness* cannot be seen from the files alone (the attacker removed
every local trace, or holds the signing key): they are detected against a checkpoint saved earlier
(a reviewer's pin, or the write-once store's copy), and the test shows both halves.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.trail.helpers import filled, forge_checkpoints, read_lines, record, write_lines

from ailab.trail import AuditLog, TrailBrokenError
from ailab.trail.jcs import canonicalize
from ailab.trail.note import open_note
from ailab.trail.signer import LocalKeySigner

Tamper = Callable[[AuditLog, Path], None]


def _edit_record(position: int, **changes: object) -> Tamper:
    def tamper(log: AuditLog, _: Path) -> None:
        lines = read_lines(log.path)
        edited = {**record(log, position), **changes}
        lines[position - 1] = canonicalize(edited)
        write_lines(log.path, lines)

    return tamper


def _raw_record(seq: int, edit: Callable[[bytes], bytes]) -> Tamper:
    def tamper(log: AuditLog, _: Path) -> None:
        lines = read_lines(log.path)
        lines[seq - 1] = edit(lines[seq - 1])
        write_lines(log.path, lines)

    return tamper


def _lines_of(path_of: Callable[[AuditLog], Path], edit: Callable[[list[bytes]], list[bytes]]) -> Tamper:
    def tamper(log: AuditLog, _: Path) -> None:
        write_lines(path_of(log), edit(read_lines(path_of(log))))

    return tamper


def _records(edit: Callable[[list[bytes]], list[bytes]]) -> Tamper:
    return _lines_of(lambda log: log.path, edit)


def _checkpoints(edit: Callable[[list[bytes]], list[bytes]]) -> Tamper:
    return _lines_of(lambda log: log.checkpoints_path, edit)


def _forged_record(log: AuditLog, _: Path) -> None:
    forged = {**record(log, 5), "seq": 6, "action": "sandbox.destroy", "audit_id": "2025-017-chatbot"}
    with log.path.open("ab") as stream:
        stream.write(canonicalize(forged) + b"\n")


def _forged_record_signed_by_another_key(log: AuditLog, tmp_path: Path) -> None:
    _forged_record(log, tmp_path)
    forge_checkpoints(log, LocalKeySigner(tmp_path / "attacker.pem"))


def _forged_record_with_copied_checkpoint(log: AuditLog, tmp_path: Path) -> None:
    _forged_record(log, tmp_path)
    lines = read_lines(log.checkpoints_path)
    write_lines(log.checkpoints_path, [*lines, lines[-1]])


def _forged_record_with_renumbered_checkpoint(log: AuditLog, tmp_path: Path) -> None:
    _forged_record(log, tmp_path)
    lines = read_lines(log.checkpoints_path)
    entry = json.loads(lines[-1])
    entry["note"] = entry["note"].replace("\n5\n", "\n6\n", 1)
    write_lines(log.checkpoints_path, [*lines, canonicalize(entry)])


def _whole_chain_rewritten_after_changing_an_actor(log: AuditLog, tmp_path: Path) -> None:
    _edit_record(2, actor={"user": "mallory", "host": "laptop", "pid": 1})(log, tmp_path)
    log.leaves_path.unlink()  # and the cache recomputed: only the signatures are beyond reach


def _log_and_checkpoints_removed(log: AuditLog, _: Path) -> None:
    for path in (log.path, log.checkpoints_path, log.leaves_path):
        path.unlink()


def _proof_altered(log: AuditLog, _: Path) -> None:
    lines = read_lines(log.checkpoints_path)
    entry = json.loads(lines[2])
    entry["consistency"][0] = base64.b64encode(bytes(32)).decode()
    lines[2] = canonicalize(entry)
    write_lines(log.checkpoints_path, lines)


def _proof_removed(log: AuditLog, _: Path) -> None:
    lines = read_lines(log.checkpoints_path)
    entry = {**json.loads(lines[2]), "consistency": None}
    lines[2] = canonicalize(entry)
    write_lines(log.checkpoints_path, lines)


def _timestamp_junk(log: AuditLog, _: Path) -> None:
    lines = read_lines(log.checkpoints_path)
    lines[1] = canonicalize({**json.loads(lines[1]), "timestamp": "not base64!"})
    write_lines(log.checkpoints_path, lines)


def _records_replaced_by_a_directory(log: AuditLog, _: Path) -> None:
    log.path.unlink()
    log.path.mkdir()


def _deleted_and_renumbered(log: AuditLog, tmp_path: Path) -> None:
    _records(lambda lines: lines[:2] + lines[3:])(log, tmp_path)
    for position in (3, 4):
        _edit_record(position, seq=position)(log, tmp_path)


def _note_edit(edit: Callable[[str], str]) -> Tamper:
    def tamper(log: AuditLog, _: Path) -> None:
        lines = read_lines(log.checkpoints_path)
        entry = json.loads(lines[-1])
        lines[-1] = canonicalize({**entry, "note": edit(entry["note"])})
        write_lines(log.checkpoints_path, lines)

    return tamper


def _line(note: str, index: int, value: str) -> str:
    lines = note.split("\n")
    lines[index] = value
    return "\n".join(lines)


def _unlink(path_of: Callable[[AuditLog], Path]) -> Tamper:
    def tamper(log: AuditLog, _: Path) -> None:
        path_of(log).unlink()

    return tamper


def _cut_last_byte(log: AuditLog, _: Path) -> None:
    log.path.write_bytes(log.path.read_bytes()[:-1])


def _crlf(log: AuditLog, _: Path) -> None:
    log.path.write_bytes(log.path.read_bytes().replace(b"\n", b"\r\n"))


def _swap(items: list[bytes], a: int, b: int) -> list[bytes]:
    items = list(items)
    items[a], items[b] = items[b], items[a]
    return items


CASES: dict[str, tuple[Tamper, str, str]] = {
    # name: (tampering, first failing item, words of the reason)
    "an outcome changed": (_edit_record(2, outcome="ok"), "record 2", "does not match checkpoint 2's signed root"),
    "an actor changed": (_edit_record(3, actor={"user": "mallory", "host": "h", "pid": 1}), "record 3", "signed root"),
    "an argument added": (_edit_record(1, arguments={"team": "alice"}), "record 1", "checkpoint 1's signed root"),
    "a time moved back": (_edit_record(4, time="2020-01-01T00:00:00.000000Z"), "record 4", "signed root"),
    "the whole chain rewritten after changing an actor": (
        _whole_chain_rewritten_after_changing_an_actor, "record 2", "does not match checkpoint 2's signed root"),
    "the last record deleted": (_records(lambda lines: lines[:-1]), "record 5", "missing: checkpoint 5 signed 5 records"),
    "a middle record deleted": (_records(lambda lines: lines[:2] + lines[3:]), "record 3", "out of sequence (says 4)"),
    "a middle record deleted and the rest renumbered": (
        _deleted_and_renumbered, "record 3", "does not match checkpoint 3's signed root"),
    "all records removed, checkpoints kept": (_records(lambda lines: []), "record 1", "missing: checkpoint 5 signed 5"),
    "two records swapped": (_records(lambda lines: _swap(lines, 1, 2)), "record 2", "out of sequence (says 3)"),
    "a record duplicated": (_records(lambda lines: lines[:3] + lines[2:]), "record 4", "out of sequence (says 3)"),
    "a forged record appended": (_forged_record, "record 6", "not covered by any signed checkpoint"),
    "a forged record appended with a checkpoint signed by another key": (
        _forged_record_signed_by_another_key, "checkpoint 1", "not signed by the trail's public key"),
    "a forged record appended with the last checkpoint copied": (
        _forged_record_with_copied_checkpoint, "checkpoint 6", "consistency proof"),
    "a forged record appended with the last checkpoint's size edited": (
        _forged_record_with_renumbered_checkpoint, "checkpoint 6", "signature does not verify"),
    "log and checkpoints both removed": (_log_and_checkpoints_removed, "trail", "no records although the trail has a signing key"),
    "checkpoints removed": (_unlink(lambda log: log.checkpoints_path), "record 1", "not covered by any signed checkpoint"),
    "a line left unterminated": (_cut_last_byte, "record 5", "not terminated"),
    "whitespace added to a line": (_raw_record(2, lambda line: line.replace(b":", b": ", 1)), "record 2", "canonical form"),
    "a key spelt twice in a line": (_raw_record(2, lambda line: line[:-1] + b',"outcome":"ok"}'), "record 2", "canonical form"),
    "CRLF line ends": (_crlf, "record 1", "canonical"),
    "invalid UTF-8": (_raw_record(3, lambda line: line.replace("É".encode(), b"\xc3")), "record 3", "not a JSON record"),
    "a record line 2 MiB long": (_raw_record(2, lambda line: line[:-1] + b',"x":"' + b"a" * 2**21 + b'"}'), "record 2", "too long"),
    "records replaced by a directory": (_records_replaced_by_a_directory, "trail", "unreadable"),
    "checkpoints swapped": (_checkpoints(lambda lines: _swap(lines, 1, 2)), "checkpoint 2", "consistency proof"),
    "a middle checkpoint removed": (_checkpoints(lambda lines: lines[:2] + lines[3:]), "checkpoint 3", "consistency proof"),
    "the first checkpoint removed": (_checkpoints(lambda lines: lines[1:]), "checkpoint 1", "first checkpoint carries a consistency proof"),
    "a consistency proof altered": (_proof_altered, "checkpoint 3", "consistency proof"),
    "a consistency proof removed": (_proof_removed, "checkpoint 3", "no consistency proof"),
    "a timestamp replaced by junk": (_timestamp_junk, "checkpoint 2", "not canonical base64"),
    "a signature changed": (_note_edit(lambda note: note[:-20] + ("A" if note[-20] != "A" else "B") + note[-19:]),
        "checkpoint 5", "signature does not verify"),
    "the root in a checkpoint changed": (_note_edit(lambda note: _line(note, 2, base64.b64encode(bytes(32)).decode())),
        "checkpoint 5", "signature does not verify"),
    "the size in a checkpoint changed": (_note_edit(lambda note: _line(note, 1, "4")), "checkpoint 5", "signature does not verify"),
    "the time in a checkpoint changed": (_note_edit(lambda note: note.replace("time 20", "time 19", 1)),
        "checkpoint 5", "signature does not verify"),
    "the checkpoints file emptied": (_checkpoints(lambda lines: []), "record 1", "not covered"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_detected_and_named(tmp_path: Path, case: str) -> None:
    log = filled(tmp_path)
    assert log.verify().problem is None
    tamper, item, words = CASES[case]
    tamper(log, tmp_path)
    problem = log.verify().problem
    assert problem is not None, case
    assert problem.item == item, problem
    assert words in problem.reason, problem


def test_every_byte_flipped_in_the_records_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path, count=3)
    original = log.path.read_bytes()
    for index in range(len(original)):
        mutated = bytearray(original)
        mutated[index] ^= 0x01
        log.path.write_bytes(bytes(mutated))
        assert log.verify().problem is not None, index
    log.path.write_bytes(original)
    assert log.verify().problem is None


def test_every_byte_flipped_in_the_checkpoints_is_detected(tmp_path: Path) -> None:
    log = filled(tmp_path, count=2)
    original = log.checkpoints_path.read_bytes()
    for index in range(len(original)):
        mutated = bytearray(original)
        mutated[index] ^= 0x01
        log.checkpoints_path.write_bytes(bytes(mutated))
        assert log.verify().problem is not None, index
    log.checkpoints_path.write_bytes(original)
    assert log.verify().problem is None


# -- the last record cut, then more --------------------------------------------------------------


def test_last_record_deleted_then_a_normal_append(tmp_path: Path) -> None:
    log = filled(tmp_path)
    write_lines(log.path, read_lines(log.path)[:-1])
    with pytest.raises(TrailBrokenError, match="no longer extends its last signed checkpoint"):
        log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 5" and "does not match checkpoint 5" in problem.reason


def test_a_damaged_leaf_cache_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    log = filled(tmp_path)
    data = bytearray(log.leaves_path.read_bytes())
    data[40] ^= 0xFF  # the second leaf; the last one still matches, so the cache looks current
    log.leaves_path.write_bytes(bytes(data))
    assert log.verify().problem is None  # verify never reads the cache
    log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")  # the writer rebuilds it
    assert log.verify().problem is None


@pytest.fixture
def pinned(tmp_path: Path) -> tuple[AuditLog, object]:
    """A trail and the checkpoint a reviewer (or the store) saved from it."""
    log = filled(tmp_path)
    note = log.checkpoints()[-1].note
    return log, open_note(note, log.signer.public_key(), log.origin)


def test_witness_last_record_and_its_checkpoint_deleted(pinned: tuple[AuditLog, object]) -> None:
    """Cutting a record *and* its checkpoint leaves a valid shorter trail: only a saved checkpoint shows the cut."""
    log, saved = pinned
    write_lines(log.path, read_lines(log.path)[:-1])
    write_lines(log.checkpoints_path, read_lines(log.checkpoints_path)[:-1])
    log.leaves_path.unlink()
    assert log.verify().problem is None  # the files alone: undetectable
    problem = log.verify(pinned=saved).problem  # type: ignore[arg-type]
    assert problem is not None and problem.item == "record 5" and "the pinned checkpoint signed 5 records" in problem.reason


def test_witness_last_record_and_checkpoint_deleted_then_a_normal_append(pinned: tuple[AuditLog, object]) -> None:
    log, saved = pinned
    write_lines(log.path, read_lines(log.path)[:-1])
    write_lines(log.checkpoints_path, read_lines(log.checkpoints_path)[:-1])
    log.leaves_path.unlink()
    log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")
    assert log.verify().problem is None
    problem = log.verify(pinned=saved).problem  # type: ignore[arg-type]
    assert problem is not None and problem.item == "records 1-5" and "the pinned checkpoint's signed root" in problem.reason


def test_witness_history_rewritten_with_the_stolen_key(pinned: tuple[AuditLog, object]) -> None:
    log, saved = pinned
    _edit_record(2, actor={"user": "mallory", "host": "h", "pid": 1})(log, Path())
    forge_checkpoints(log, log.signer)
    assert log.verify().problem is None  # a key holder can re-sign history: the pin (or a TSA token) is what catches it
    problem = log.verify(pinned=saved).problem  # type: ignore[arg-type]
    assert problem is not None and problem.item == "records 1-5" and "pinned checkpoint's signed root" in problem.reason


def test_pinned_key_catches_a_replaced_key_file(tmp_path: Path) -> None:
    log = filled(tmp_path)
    original = log.signer.public_key()
    _edit_record(2, outcome="ok")(log, tmp_path)
    (tmp_path / "key.pem").unlink()
    attacker = LocalKeySigner(tmp_path / "key.pem")
    forge_checkpoints(log, attacker)
    assert AuditLog(log.directory, signer=attacker).verify().problem is None
    problem = log.verify(original).problem
    assert problem is not None and problem.item == "checkpoint 1" and "not signed by the trail's public key" in problem.reason


def test_everything_removed_is_caught_by_the_pinned_key(tmp_path: Path) -> None:
    log = filled(tmp_path)
    original = log.signer.public_key()
    _log_and_checkpoints_removed(log, tmp_path)
    (tmp_path / "key.pem").unlink()
    assert log.verify().problem is None  # indistinguishable from a fresh lab without a pin
    problem = log.verify(original).problem
    assert problem is not None and problem.item == "trail" and "no records" in problem.reason
    shutil.rmtree(log.directory)
    problem = log.verify(original).problem
    assert problem is not None and "does not exist" in problem.reason


# -- malformed records behind a consistent tree, re-signed with the real key ----------------------

MALFORMED: dict[str, tuple[dict[str, object], str]] = {
    "seq true": ({"seq": True}, "seq is the boolean true"),
    "seq as text": ({"seq": "2"}, "seq is a string"),
    "a string actor": ({"actor": "root"}, "actor is a string"),
    "an actor without pid": ({"actor": {"user": "a", "host": "b"}}, "actor does not have exactly"),
    "a list verdict": ({"verdict": ["pass"]}, "verdict is a list"),
    "a number outcome": ({"outcome": 5}, "outcome is an integer"),
    "an impossible date": ({"time": "2026-02-30T10:00:00.000000Z"}, "not a real date"),
    "a local time": ({"time": "2026-12-06T10:00:00+01:00"}, "not a UTC time"),
    "an action with spaces": ({"action": "rm -rf"}, "not a dotted name"),
    "a bad content hash": ({"hashes": {"plan": "md5:abc"}}, "hashes is not an object of sha256"),
    "an extra field": ({"extra": 1}, "unexpected ['extra']"),
    "a list arguments": ({"arguments": [1]}, "arguments is a list"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_records_are_named_even_behind_a_consistent_signed_tree(tmp_path: Path, case: str) -> None:
    changes, words = MALFORMED[case]
    log = filled(tmp_path)
    _edit_record(2, **changes)(log, tmp_path)
    forge_checkpoints(log, log.signer)  # the attacker even holds the key: the tree and signatures are all valid
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 2" and words in problem.reason
    entries = list(log.entries())  # and reading them for display never crashes
    assert entries[1].record is None and entries[1].problem is not None and words in entries[1].problem


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = read_lines(log.path)
    lines[1] = canonicalize({k: v for k, v in record(log, 2).items() if k != "detail"})
    write_lines(log.path, lines)
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 2" and "missing ['detail']" in problem.reason


def test_a_checkpoint_time_going_back_needs_the_key_and_is_caught(tmp_path: Path) -> None:
    log = filled(tmp_path)
    times = [json.loads(line)["time"] for line in read_lines(log.path)]
    times[2] = "2020-01-01T00:00:00.000000Z"
    forge_checkpoints(log, log.signer, times=times)
    problem = log.verify().problem
    assert problem is not None and problem.item == "checkpoint 3" and "before the checkpoint before it" in problem.reason


def test_a_record_dated_after_its_checkpoint_is_caught(tmp_path: Path) -> None:
    log = filled(tmp_path)
    _edit_record(5, time="2099-01-01T00:00:00.000000Z")(log, tmp_path)
    times = [json.loads(line)["time"] for line in read_lines(log.path)]
    times[4] = times[3]
    forge_checkpoints(log, log.signer, times=times)
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 5" and "after checkpoint 5 that signed it" in problem.reason


def test_a_checkpoint_of_another_origin_is_refused(tmp_path: Path) -> None:
    log = filled(tmp_path)
    forge_checkpoints(log, log.signer, origin="another.trail")
    problem = log.verify().problem
    assert problem is not None and problem.item == "checkpoint 1" and "is not this trail's" in problem.reason
