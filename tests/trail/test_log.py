"""The trail's ordinary life: records, checkpoints and proofs that verify, concurrent writers, the CLI."""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.trail.helpers import filled, new_log, read_lines
from typer.testing import CliRunner

from ailab.cli.app import app
from ailab.trail import AuditLog, merkle
from ailab.trail.jcs import canonicalize
from ailab.trail.note import open_note

runner = CliRunner()


def test_records_are_canonical_leaves_under_signed_chained_checkpoints(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = read_lines(log.path)
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4, 5]
    assert all(canonicalize(json.loads(line)) == line for line in lines)
    checkpoints = log.checkpoints()
    assert [c.checkpoint.size for c in checkpoints] == [1, 2, 3, 4, 5]
    leaves = [merkle.leaf_hash(line) for line in lines]
    assert checkpoints[-1].checkpoint.root == merkle.root(leaves)
    assert checkpoints[0].consistency is None
    for old, new in itertools.pairwise(checkpoints):
        assert new.consistency is not None
        assert merkle.verify_consistency(
            old.checkpoint.size, new.checkpoint.size, old.checkpoint.root, new.checkpoint.root, new.consistency
        )
    verification = log.verify()
    assert (verification.records, verification.checkpoints, verification.problem) == (5, 5, None)
    assert oct(log.path.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "key.pem").stat().st_mode & 0o777) == "0o600"


def test_the_note_is_a_c2sp_signed_note(tmp_path: Path) -> None:
    log = filled(tmp_path, count=3)
    note = log.checkpoints()[-1].note
    body, signature = note.split("\n\n")
    origin, size, root, extension = body.split("\n")
    assert (origin, size, base64.b64decode(root)) == (log.origin, "3", merkle.root(log.leaves()))
    assert extension.startswith("time 20")
    dash, name, blob = signature.rstrip("\n").split(" ")
    assert (dash, name, len(base64.b64decode(blob))) == ("\u2014", log.origin, 4 + 64)
    key = log.signer.public_key()
    key.verify(base64.b64decode(blob)[4:], (body + "\n").encode())  # raises if not
    assert open_note(note, key, log.origin).size == 3


def test_checkpoints_every_n_records(tmp_path: Path) -> None:
    log = new_log(tmp_path, checkpoint_every=10)
    for index in range(25):
        log.append("eval.run", audit_id="a", arguments={"index": index}, outcome="ok", hashes={"report": "sha256:" + "0" * 64})
    assert [c.checkpoint.size for c in log.checkpoints()] == [10, 20]
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 21" and "not covered" in problem.reason
    assert log.checkpoint() is not None
    assert log.verify().problem is None and log.verify().checkpoints == 3


def test_arguments_that_are_not_json_are_kept_as_text(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    stored = log.append(
        "sandbox.plan", audit_id=None, arguments={"path": Path("/x"), "n": float("nan"), "big": 2**60}, outcome="ok"
    )
    assert stored["arguments"] == {"path": "/x", "n": "nan", "big": str(2**60)}
    assert log.verify().problem is None


def test_a_writer_that_died_mid_line_leaves_a_named_fragment(tmp_path: Path) -> None:
    log = filled(tmp_path, count=3)
    with log.path.open("ab") as stream:
        stream.write(b'{"seq":4,"ti')
    log.append("sandbox.plan", audit_id="x", arguments={}, outcome="ok")
    problem = log.verify().problem
    assert problem is not None and problem.item == "record 4" and "not a JSON record" in problem.reason
    assert [e.seq for e in log.entries() if e.record is None] == [4]


WRITER = """
import sys, time
from pathlib import Path
from ailab.trail import AuditLog
from ailab.trail.signer import LocalKeySigner
directory, name, count, start = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
log = AuditLog(directory, signer=LocalKeySigner(directory.parent / "key.pem"))
while time.time() < start:
    time.sleep(0.005)
for index in range(count):
    log.append("sandbox.plan", audit_id=name, arguments={"index": index}, outcome="ok")
"""


def test_concurrent_writers_keep_the_trail_consistent(tmp_path: Path) -> None:
    start = time.time() + 2.0  # all have imported ailab by then and start together
    count = 60
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path / "audit"), name, str(count), str(start)], env={**os.environ}
        )
        for name in ("writer-a", "writer-b", "writer-c")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    log = new_log(tmp_path)
    verification = log.verify()
    assert verification.problem is None and verification.records == 3 * count
    names = [r["audit_id"] for r in log.records()]
    assert all(names.count(name) == count for name in ("writer-a", "writer-b", "writer-c"))
    assert sum(1 for a, b in itertools.pairwise(names) if a != b) >= 1  # they really did interleave


def test_cli_key_verify_checkpoint_and_show(tmp_path: Path, ailab_home: Path) -> None:
    printed = runner.invoke(app, ["audit", "key"])
    assert printed.exit_code == 0 and printed.output.startswith("-----BEGIN PUBLIC KEY-----")
    (tmp_path / "pinned.pem").write_text(printed.output)
    log = AuditLog()
    assert [r["action"] for r in log.records()] == ["trail.key"]  # the key's birth is recorded
    log.append("sandbox.create", audit_id="a-1", arguments={}, outcome="ok")
    saved = runner.invoke(app, ["audit", "checkpoint"])
    assert saved.exit_code == 0 and saved.output.startswith(log.origin + "\n2\n")
    (tmp_path / "saved.note").write_text(saved.output)
    ok = runner.invoke(
        app, ["audit", "verify", "--key", str(tmp_path / "pinned.pem"), "--checkpoint", str(tmp_path / "saved.note")]
    )
    assert ok.exit_code == 0 and "2 records, 2 signed checkpoints: intact" in ok.output
    as_json = json.loads(runner.invoke(app, ["audit", "verify", "--json"]).stdout)
    assert as_json == {
        "format": "ailab.audit-verify/1", "trail": str(log.directory), "records": 2, "checkpoints": 2,
        "timestamps_checked": 0, "intact": True, "problem": None,
    }  # fmt: skip

    lines = read_lines(log.path)
    forged = {**json.loads(lines[1]), "actor": "root", "verdict": ["pass"]}
    log.path.write_bytes(lines[0] + b"\n" + canonicalize(forged) + b"\n")
    shown = runner.invoke(app, ["audit", "show"])  # the table at 80 columns: no crash, the row is there
    assert shown.exit_code == 0 and "Traceback" not in shown.output and "malfo" in shown.output
    rows = json.loads(runner.invoke(app, ["audit", "show", "--json"]).stdout)
    assert rows[1] == {"seq": 2, "problem": "actor is a string, not an object"}
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "record 2: actor is a string, not an object" in broken.output


def test_cli_bad_inputs_are_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a key")
    for arguments in (["--key", str(tmp_path / "junk.pem")], ["--key", str(tmp_path)], ["--checkpoint", str(tmp_path / "none")]):
        result = runner.invoke(app, ["audit", "verify", *arguments])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and result.output.count("\n") == 1
    empty = runner.invoke(app, ["audit", "checkpoint"])
    assert empty.exit_code == 2 and "empty" in empty.output


def test_cli_checkpoint_pin_without_any_key_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "saved.note").write_text("x\n")
    result = runner.invoke(app, ["audit", "verify", "--checkpoint", str(tmp_path / "saved.note")])
    assert result.exit_code == 2 and "pass the pinned key with --key" in result.output
    assert not (Path(os.environ["AILAB_HOME"]) / "keys" / "trail-ed25519.pem").exists()  # verify never makes a key


@pytest.mark.parametrize(
    ("changes", "words"),
    [({"action": "Sandbox Create"}, "dotted name"), ({"hashes": {"plan": "md5:x"}}, "sha256"), ({"outcome": ""}, "outcome")],
)
def test_a_caller_cannot_write_a_malformed_record(tmp_path: Path, changes: dict[str, object], words: str) -> None:
    log = new_log(tmp_path)
    arguments: dict[str, object] = {"action": "sandbox.plan", "audit_id": "a", "arguments": {}, "outcome": "ok", **changes}
    action = arguments.pop("action")
    with pytest.raises(ValueError, match=words):
        log.append(action, **arguments)  # type: ignore[arg-type]
    assert not log.path.exists() or log.path.read_bytes() == b""


def test_cli_notes_the_chain_file_of_older_versions(ailab_home: Path) -> None:
    AuditLog().append("sandbox.plan", audit_id="a", arguments={}, outcome="ok")
    (ailab_home / "audit" / "audit.log.jsonl").write_text("{}\n")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 0 and "note: " in result.output and "neither read nor checked" in result.output
