"""Per-sandbox locks: one holder at a time, named in the refusal; unlock only when the holder is gone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ailab.errors import BadInputError, OperationFailedError
from ailab.sandbox import lock


def _write(audit_id: str, **holder: object) -> None:
    data = {"pid": os.getpid(), "host": socket.gethostname(), "user": "auditor", "command": "ailab sandbox create x", "time": "t"}
    data.update(holder)
    lock.lock_path(audit_id).write_text(json.dumps(data))


def test_lock_names_its_holder_and_is_released() -> None:
    with lock.sandbox_lock("a1", "ailab sandbox create a1") as me:
        assert me.pid == os.getpid()
        holder = lock.read_holder("a1")
        assert holder == me and holder.start_ticks is not None
        with pytest.raises(lock.LockHeldError) as held, lock.sandbox_lock("a1", "ailab sandbox destroy a1"):
            pass
        message = str(held.value)
        assert f"{me.user}@{me.host} (pid {me.pid}) running 'ailab sandbox create a1'" in message
        assert "ailab sandbox unlock a1" in message
    assert lock.read_holder("a1") is None
    assert oct(lock.lock_path("a1").parent.stat().st_mode & 0o777) == "0o700"


def test_lock_released_on_error() -> None:
    with pytest.raises(RuntimeError), lock.sandbox_lock("a1", "x"):
        raise RuntimeError("boom")
    assert lock.read_holder("a1") is None


def test_other_sandboxes_are_independent() -> None:
    with lock.sandbox_lock("a1", "x"), lock.sandbox_lock("a2", "y"):
        assert lock.read_holder("a1") and lock.read_holder("a2")


def test_unlock_refuses_while_the_holder_runs() -> None:
    _write("a1", pid=os.getpid())
    with pytest.raises(OperationFailedError, match="still running; not unlocking"):
        lock.unlock("a1")
    assert lock.read_holder("a1") is not None


def test_unlock_clears_a_dead_holder() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    _write("a1", pid=process.pid)
    assert lock.unlock("a1").pid == process.pid
    assert lock.read_holder("a1") is None


def test_a_recycled_pid_is_not_the_holder() -> None:
    """Same pid, but a process that started at another moment: the holder is gone."""
    _write("a1", pid=os.getpid(), start_ticks=1)
    lock.unlock("a1")
    assert lock.read_holder("a1") is None


def test_unlock_of_another_hosts_lock_needs_force() -> None:
    _write("a1", host="elsewhere.example")
    with pytest.raises(OperationFailedError, match=r"on another host.*--force"):
        lock.unlock("a1")
    lock.unlock("a1", force=True)
    assert lock.read_holder("a1") is None


def test_unlock_of_a_free_sandbox() -> None:
    with pytest.raises(BadInputError, match="is not locked"):
        lock.unlock("a1")


def test_unreadable_lock_file_is_reported_and_removable() -> None:
    lock.lock_path("a1").write_text("{not json")
    with pytest.raises(lock.LockHeldError, match="unreadable lock file"), lock.sandbox_lock("a1", "x"):
        pass
    lock.unlock("a1")


HOLDER = """
import sys, time
from ailab.sandbox.lock import sandbox_lock
with sandbox_lock("a1", "ailab sandbox create a1"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_concurrent_process_is_refused(ailab_home: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "locked"
        with pytest.raises(lock.LockHeldError, match=f"pid {process.pid}"), lock.sandbox_lock("a1", "ailab sandbox destroy a1"):
            pass
        with pytest.raises(OperationFailedError, match="still running"):
            lock.unlock("a1")
    finally:
        process.kill()
        process.wait()
    time.sleep(0.05)
    assert lock.unlock("a1").pid == process.pid  # killed: its lock is stale now


def test_unlock_leaves_a_lock_taken_after_it_judged_the_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stale holder is judged, then another process takes the lock before the removal: that lock stays."""
    _write("a1", pid=999_999_999)  # no such process: stale
    newcomer = {"pid": os.getpid(), "command": "ailab sandbox extend a1 --by 1h", "time": "later"}

    def judged_dead_then_replaced(holder: lock.Holder) -> bool:
        lock.lock_path("a1").unlink()  # another unlock removed the stale lock...
        _write("a1", **newcomer)  # ...and a new operation took it
        return False

    monkeypatch.setattr(lock, "process_alive", judged_dead_then_replaced)
    with pytest.raises(OperationFailedError, match=r"lock changed hands while unlocking and is now held by .*extend a1"):
        lock.unlock("a1")
    holder = lock.read_holder("a1")
    assert holder is not None and holder.command == newcomer["command"]
    assert [p.name for p in lock.lock_path("a1").parent.iterdir()] == ["a1.lock"]  # nothing left aside


def test_a_holder_whose_lock_was_forced_away_does_not_release_the_next_holders_lock() -> None:
    with lock.sandbox_lock("a1", "ailab sandbox create a1"):
        lock.lock_path("a1").unlink()  # removed by an operator (rm, or unlock --force from another host)
        _write("a1", host="elsewhere.example", command="ailab sandbox destroy a1")
    holder = lock.read_holder("a1")
    assert holder is not None and holder.command == "ailab sandbox destroy a1"
