"""The outcome of a run: per-host counts, the failures worth showing, and the exit code.

A failure in a role's checks (its argument spec, or an assertion of ``tasks/preflight.yml``)
means a bad variable value: it is reported as bad input, before anything changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ailab.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK

_ANSIBLE_ERROR = re.compile(r"^(?:\[ERROR\]: |ERROR! )(.*)$", re.MULTILINE)
_CHECK_ACTIONS = {"validate_argument_spec", "ansible.builtin.validate_argument_spec"}
_PREFLIGHT = "/tasks/preflight.yml:"
# Ansible's names in playbook_on_stats, and ours.
_COUNTS = {
    "ok": "ok",
    "changed": "changed",
    "failures": "failed",
    "dark": "unreachable",
    "skipped": "skipped",
    "rescued": "rescued",
    "ignored": "ignored",
}


@dataclass(frozen=True)
class HostSummary:
    host: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and self.unreachable == 0


@dataclass(frozen=True)
class Failure:
    """One failed or unreachable task on one host, as one line."""

    host: str
    task: str
    message: str
    bad_input: bool
    """The role refused a variable's value (argument spec or preflight check)."""

    def line(self) -> str:
        return f"{self.host}: {self.task}: {self.message}"


def summaries(stats: Mapping[str, Any]) -> list[HostSummary]:
    """Per-host counts from a ``playbook_on_stats`` event's data, hosts sorted."""
    hosts = sorted({host for key in _COUNTS for host in (stats.get(key) or {})})
    return [
        HostSummary(host, **{ours: int((stats.get(theirs) or {}).get(host, 0)) for theirs, ours in _COUNTS.items()})
        for host in hosts
    ]


def failure(event: Mapping[str, Any]) -> Failure | None:
    """The failure an event reports, or None (ignored errors are not failures)."""
    kind = event.get("event")
    data = event.get("event_data") or {}
    if kind not in ("runner_on_failed", "runner_on_unreachable") or data.get("ignore_errors"):
        return None
    result = data.get("res") or {}
    task = str(data.get("task", "")).strip()
    is_check = data.get("task_action") in _CHECK_ACTIONS or _PREFLIGHT in str(data.get("task_path", ""))
    if data.get("task_action") in _CHECK_ACTIONS and result.get("argument_errors"):
        message = "; ".join(str(error) for error in result["argument_errors"])
        task = f"{data.get('role') or 'role'} variables"
    else:
        message = _message(result)
    return Failure(str(data.get("host", "?")), task, message, bad_input=kind == "runner_on_failed" and is_check)


def _message(result: Mapping[str, Any]) -> str:
    """A result's message on one line; a failed loop names its first failed item's."""
    message = result.get("msg") or result.get("stderr") or result.get("reason") or ""
    if not message and isinstance(result.get("results"), list):
        failed = [item for item in result["results"] if isinstance(item, Mapping) and item.get("failed")]
        if failed:
            return _message(failed[0])
    return " ".join(str(message).split()) or "failed (no message)"


def exit_code(hosts: Iterable[HostSummary], failures: Iterable[Failure]) -> int:
    """0 when every host succeeded, 2 when a role refused a variable, 1 when a host failed or was unreachable."""
    if any(found.bad_input for found in failures):
        return EXIT_BAD_INPUT
    return EXIT_OK if all(host.succeeded for host in hosts) else EXIT_FINDINGS


def ansible_error(output: str) -> str | None:
    """The first error line Ansible printed (``[ERROR]: ...``, or ``ERROR! ...`` from older releases)."""
    found = _ANSIBLE_ERROR.search(output)
    return found.group(1).strip() if found else None
