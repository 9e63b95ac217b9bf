"""Runs of ailab's playbooks through ansible-runner; each run's artifacts are kept under ailab's data dir.

``ansible_runner`` is imported inside the functions: importing ``ailab.hosts`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ailab import home
from ailab.errors import OperationFailedError
from ailab.hosts.inputs import RunRequest
from ailab.hosts.layout import AnsibleLayout
from ailab.hosts.summary import Failure, HostSummary, ansible_error, exit_code, failure, summaries

EventHandler = Callable[[Mapping[str, Any]], None]

SITE = "site.yml"
GPU_FACTS = "gpu_facts.yml"
_FACTS_ACTION = "ailab_gpu_facts"
_FACT = "ailab_gpu"


@dataclass(frozen=True)
class RunOutcome:
    """Per-host counts, the failures in order, and where the run's artifacts are."""

    hosts: list[HostSummary]
    failures: list[Failure]
    artifacts: Path

    @property
    def exit_code(self) -> int:
        return exit_code(self.hosts, self.failures)


def run_playbook(layout: AnsibleLayout, playbook: str, request: RunRequest, on_event: EventHandler | None = None) -> RunOutcome:
    """Run ``playbook`` for ``request``, passing every ansible-runner event to ``on_event``."""
    import ansible_runner

    private = _run_dir(playbook)
    failures: list[Failure] = []
    stats: dict[str, Any] = {}

    def handle(event: dict[str, Any]) -> bool:
        found = failure(event)
        if found:
            failures.append(found)
        if event.get("event") == "playbook_on_stats":
            stats.update(event.get("event_data") or {})
        if on_event:
            on_event(event)
        return True  # keep the event in the artifacts

    flags = [flag for flag, wanted in (("--check", request.check), ("--diff", request.diff)) if wanted]
    result = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(layout.playbooks),
        playbook=playbook,
        inventory=str(request.inventory),
        extravars=dict(request.extra_vars) or None,
        limit=request.limit,
        tags=",".join(request.tags) or None,
        cmdline=" ".join(flags) or None,
        envvars=layout.environment(),
        # No env/ files: -e values (a token, say) are not written to disk by ailab.
        suppress_env_files=True,
        # Facts live for the run only: runner's default file cache names files after hosts, and a
        # chroot host's name is a path.
        fact_cache_type="memory",
        quiet=True,
        event_handler=handle,
    )
    if not stats:
        raise OperationFailedError(
            f"{playbook} stopped before running (status {result.status}, exit {result.rc}): {_stdout_error(private)}; see {private}"
        )
    return RunOutcome(summaries(stats), failures, private)


def gather_gpu_facts(layout: AnsibleLayout, request: RunRequest) -> tuple[dict[str, dict[str, Any]], RunOutcome]:
    """The ``ailab_gpu`` fact of every reachable host (from the gpu_node role's module), and the run's outcome."""
    facts: dict[str, dict[str, Any]] = {}

    def collect(event: Mapping[str, Any]) -> None:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_ok" and data.get("task_action") == _FACTS_ACTION:
            facts[data["host"]] = (data.get("res") or {}).get("ansible_facts", {}).get(_FACT, {})

    outcome = run_playbook(layout, GPU_FACTS, request, collect)
    return dict(sorted(facts.items())), outcome


def _run_dir(playbook: str) -> Path:
    """A new private directory for one run: ``<data dir>/runs/<UTC time>-<playbook>``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return home.private_dir(home.sub_dir("runs") / f"{stamp}-{Path(playbook).stem}")


def _stdout_error(private: Path) -> str:
    """The first error line Ansible printed in the run, or a pointer to the artifacts."""
    for stdout in sorted(private.glob("artifacts/*/stdout")):
        found = ansible_error(stdout.read_text(errors="replace"))
        if found:
            return found
    return "no error message"
