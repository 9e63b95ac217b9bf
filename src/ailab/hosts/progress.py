"""ansible-runner's event stream turned into progress per host: tasks done out of tasks listed, current task, state.

Pure bookkeeping; the CLI draws it. Totals come from :mod:`ailab.hosts.listing`, which counts
neither handlers nor tasks added at run time, so ``done`` may pass ``total``: it is capped, and
a finished host shows full.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WAITING = "waiting"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
UNREACHABLE = "unreachable"

_FINISHING = {"runner_on_ok", "runner_on_skipped", "runner_on_failed", "runner_on_unreachable"}


@dataclass
class HostProgress:
    host: str
    total: int
    done: int = 0
    task: str = ""
    state: str = WAITING

    @property
    def shown_done(self) -> int:
        """Tasks done as a bar shows them: never past the total, the total once the host is finished."""
        if self.state in (DONE, FAILED, UNREACHABLE):
            return self.total
        return min(self.done, self.total)


class ProgressBoard:
    """Per-host progress, updated one event at a time."""

    def __init__(self, totals: Mapping[str, int]) -> None:
        self.hosts = {host: HostProgress(host, total) for host, total in totals.items()}

    def _host(self, name: str) -> HostProgress:
        if name not in self.hosts:  # a host the listing did not name (added by the play at run time)
            self.hosts[name] = HostProgress(name, 0)
        return self.hosts[name]

    def update(self, event: Mapping[str, Any]) -> HostProgress | None:
        """Apply one event; the host it changed, or None when it concerns no host."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            for progress in self.hosts.values():
                if progress.state in (WAITING, RUNNING):
                    progress.state = DONE
            return None
        name = data.get("host")
        if not name:
            return None
        progress = self._host(name)
        if kind == "runner_on_start":
            progress.task = data.get("task", "")
            if progress.state == WAITING:
                progress.state = RUNNING
        elif kind in _FINISHING:
            progress.done += 1
            if kind == "runner_on_unreachable":
                progress.state = UNREACHABLE
            elif kind == "runner_on_failed" and not data.get("ignore_errors"):
                progress.state = FAILED
        else:
            return None
        return progress
