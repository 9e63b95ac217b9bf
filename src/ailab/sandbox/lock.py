"""One operation at a time per sandbox: a lock file that says who holds it.

The file (``<data dir>/locks/<audit id>.lock``) is made with ``link()``, which fails when it
exists, so exactly one process wins; it holds JSON naming the holder: pid, host, user, command and time, plus the
process's start time so a recycled pid is not mistaken for the holder. A lock is never broken
automatically: ``ailab sandbox unlock`` removes it after checking its process is gone.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from ailab.errors import BadInputError, OperationFailedError
from ailab.home import sub_dir
from ailab.sandbox.request import iso, utc_now


class LockHeldError(OperationFailedError):
    """Another operation holds the sandbox's lock."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    user: str
    command: str
    time: str
    start_ticks: int | None = None
    """Start time of the process in clock ticks since boot (``/proc/<pid>/stat``), when known."""

    def describe(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid}) running '{self.command}' since {self.time}"


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after the last ')' are fixed.
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(holder: Holder) -> bool:
    """Whether the holder's process still runs on this host (a recycled pid does not count)."""
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    if holder.start_ticks is None:
        return True
    return _start_ticks(holder.pid) == holder.start_ticks


def lock_path(audit_id: str) -> Path:
    return sub_dir("locks") / f"{audit_id}.lock"


def read_holder(audit_id: str) -> Holder | None:
    """The holder of the sandbox's lock, or None when it is free."""
    return _holder_in(lock_path(audit_id))


def _holder_in(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return Holder(pid=-1, host="?", user="?", command="? (unreadable lock file)", time="?")


def _remove_if_held_by(path: Path, holder: Holder) -> bool:
    """Remove the lock file if ``holder`` still holds it; a lock another process took meanwhile stays.

    The file is first renamed aside (atomic), then judged: deleting by name after reading it could
    delete a lock taken between the read and the delete.
    """
    aside = path.with_name(f".{path.name}.removing.{os.getpid()}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    if _holder_in(aside) == holder:
        aside.unlink()
        return True
    # Someone else's lock: put it back (unless yet another process has locked since: its lock holds).
    with suppress(FileExistsError):
        os.link(aside, path)
    aside.unlink()
    return False


@contextmanager
def sandbox_lock(audit_id: str, command: str) -> Iterator[Holder]:
    """Hold the sandbox's lock for the ``with`` block, or fail naming who holds it."""
    path = lock_path(audit_id)
    me = Holder(os.getpid(), socket.gethostname(), getpass.getuser(), command, iso(utc_now()), _start_ticks(os.getpid()))
    # Written in full beside the lock, then linked into place: link() fails if the lock exists, and
    # a reader never sees a half-written holder.
    draft = path.with_name(f".{path.name}.{me.pid}")
    draft.write_text(json.dumps(asdict(me)), encoding="utf-8")
    try:
        os.link(draft, path)
    except FileExistsError:
        holder = read_holder(audit_id)
        who = holder.describe() if holder else "another process (it has just released it; try again)"
        raise LockHeldError(
            f"sandbox {audit_id} is locked by {who}; wait for it to finish, or if that process is gone "
            f"run: ailab sandbox unlock {audit_id}"
        ) from None
    finally:
        draft.unlink(missing_ok=True)
    try:
        yield me
    finally:
        _remove_if_held_by(path, me)  # not path.unlink(): after a forced unlock the file may be another's lock


def unlock(audit_id: str, force: bool = False) -> Holder:
    """Remove a stale lock; refused while its process runs (or runs on another host, unless ``force``)."""
    holder = read_holder(audit_id)
    if holder is None:
        raise BadInputError(f"sandbox {audit_id} is not locked")
    if holder.host != socket.gethostname() and holder.pid != -1 and not force:
        raise OperationFailedError(
            f"sandbox {audit_id} is locked by {holder.describe()}, on another host; this host cannot see whether that "
            f"process is gone: run unlock there, or add --force once you have checked"
        )
    if holder.host == socket.gethostname() and process_alive(holder):
        raise OperationFailedError(f"sandbox {audit_id} is locked by {holder.describe()}, which is still running; not unlocking")
    if not _remove_if_held_by(lock_path(audit_id), holder):
        now = read_holder(audit_id)
        raise OperationFailedError(
            f"sandbox {audit_id}: its lock changed hands while unlocking"
            + (f" and is now held by {now.describe()}; left in place" if now else " and is free now")
        )
    return holder
