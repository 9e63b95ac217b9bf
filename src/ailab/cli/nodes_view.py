"""Drawing `ailab nodes`: the live progress bar per host, the per-host table, the GPU facts table."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ailab.errors import EXIT_BAD_INPUT, EXIT_OK, BadInputError, OperationFailedError

if TYPE_CHECKING:
    from rich.table import Table

    from ailab.hosts.diffs import TaskDiff
    from ailab.hosts.progress import HostProgress, ProgressBoard
    from ailab.hosts.runner import EventHandler, RunOutcome


@dataclass
class DiffCollector:
    """With ``--diff``: the changes of every task, kept during the run and printed after the progress bar."""

    enabled: bool
    found: list[TaskDiff] = field(default_factory=list)

    def add(self, event: Mapping[str, Any]) -> None:
        if self.enabled:
            from ailab.hosts.diffs import task_diffs

            self.found.extend(task_diffs(event))

    def show(self) -> None:
        from ailab.cli.console import out

        console = out()
        for diff in self.found:
            console.print(f"--- {diff.host}: {diff.task}", style="bold", markup=False, soft_wrap=True)
            console.print(diff.text, markup=False, highlight=False, soft_wrap=True)


@contextmanager
def live_progress(board: ProgressBoard, also: EventHandler | None = None) -> Iterator[EventHandler]:
    """A progress bar per host on stderr, kept current by the event handler this yields (which then calls ``also``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from ailab.cli.console import err

    progress = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[state]}", markup=False),
        TextColumn("{task.fields[current]}", markup=False),
        console=err(),
    )
    bars: dict[str, TaskID] = {}

    def draw(host: HostProgress) -> None:
        if host.host not in bars:
            bars[host.host] = progress.add_task(host.host, total=None, state="", current="")
        progress.update(
            bars[host.host],
            total=host.total or None,
            completed=host.shown_done,
            state=host.state,
            current="" if host.state != "running" else host.task[:60],
        )

    def on_event(event: Mapping[str, Any]) -> None:
        changed = board.update(event)
        for host in [changed] if changed else board.hosts.values():
            draw(host)
        if also:
            also(event)

    for host in board.hosts.values():
        draw(host)
    with progress:
        yield on_event


def outcome_table(outcome: RunOutcome) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="hosts", title_justify="left")
    for column in ("host", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(column, justify="left" if column == "host" else "right")
    for host in outcome.hosts:
        style = None if host.succeeded else "bold red"
        counts = (host.ok, host.changed, host.failed, host.unreachable, host.skipped)
        table.add_row(escape(host.host), *(str(count) for count in counts), style=style)
    return table


def report_outcome(outcome: RunOutcome) -> None:
    """The per-host table on stdout, then the failures and the exit code (as the root's one-line error)."""
    from ailab.cli.console import out

    out().print(outcome_table(outcome))
    report_failures(outcome)


def report_failures(outcome: RunOutcome) -> None:
    """Each failure on stderr, then raise the error that gives the run's exit code (nothing when all succeeded)."""
    from ailab.cli.console import err

    console = err()
    code = outcome.exit_code
    if code == EXIT_OK:
        console.print(f"artifacts: {outcome.artifacts}", markup=False, soft_wrap=True)
        return
    for failure in outcome.failures:
        console.print(failure.line(), style="red", markup=False, soft_wrap=True)
    console.print(f"artifacts: {outcome.artifacts}", markup=False, soft_wrap=True)
    if code == EXIT_BAD_INPUT:
        refused = next(failure for failure in outcome.failures if failure.bad_input)
        raise BadInputError(f"variable refused, nothing changed there: {refused.line()}")
    broken = [host.host for host in outcome.hosts if not host.succeeded]
    raise OperationFailedError(f"{len(broken)} of {len(outcome.hosts)} hosts failed or were unreachable: {', '.join(broken)}")


def facts_table(facts: Mapping[str, Mapping[str, Any]], outcome: RunOutcome) -> Table:
    """One row per node: GPU count, model, driver, MIG, or why NVML gave nothing."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="GPU facts", title_justify="left")
    for column in ("node", "GPUs", "model", "driver", "MIG", "note"):
        table.add_column(column)
    for host, fact in facts.items():
        inventory = fact.get("inventory") or {}
        gpus = inventory.get("gpus") or []
        models = sorted({gpu.get("name") or "?" for gpu in gpus})
        mig = sorted({(gpu.get("mig_mode") or {}).get("current", "n/a") for gpu in gpus})
        note = "" if fact.get("available") else str(fact.get("reason", ""))
        if fact.get("mig_pending"):
            note = "MIG mode change pending (reset or reboot)"
        cells = (
            host,
            str(fact.get("gpu_count", 0)),
            ", ".join(models),
            inventory.get("driver_version") or "",
            "/".join(mig),
            note,
        )
        table.add_row(*(escape(cell) for cell in cells))
    for failure in outcome.failures:
        table.add_row(escape(failure.host), "", "", "", "", escape(failure.message), style="bold red")
    return table
