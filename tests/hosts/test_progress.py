"""Events to per-host progress: counts, current task, final states."""

from __future__ import annotations

from tests.hosts.events import event

from ailab.hosts.progress import DONE, FAILED, RUNNING, UNREACHABLE, WAITING, ProgressBoard


def test_tasks_are_counted_per_host_and_capped() -> None:
    board = ProgressBoard({"a": 2, "b": 3})
    assert board.hosts["a"].state == WAITING
    changed = board.update(event("runner_on_start", "a", task="Install chrony"))
    assert changed is board.hosts["a"] and changed.state == RUNNING and changed.task == "Install chrony"
    board.update(event("runner_on_ok", "a"))
    board.update(event("runner_on_skipped", "a"))
    board.update(event("runner_on_ok", "a"))  # a handler: not in the listing's total
    assert board.hosts["a"].done == 3 and board.hosts["a"].shown_done == 2
    assert board.update(event("playbook_on_task_start", task="x")) is None
    assert board.update(event("runner_item_on_ok", "a")) is None


def test_failed_and_unreachable_hosts_keep_their_state() -> None:
    board = ProgressBoard({"a": 5, "b": 5, "c": 5})
    board.update(event("runner_on_failed", "a", ignore_errors=True))
    assert board.hosts["a"].state == WAITING  # an ignored error is not a failure
    board.update(event("runner_on_failed", "a"))
    board.update(event("runner_on_unreachable", "b"))
    board.update(event("runner_on_start", "c", task="t"))
    board.update(event("playbook_on_stats"))
    states = {name: host.state for name, host in board.hosts.items()}
    assert states == {"a": FAILED, "b": UNREACHABLE, "c": DONE}
    assert all(host.shown_done == 5 for host in board.hosts.values())


def test_a_host_missing_from_the_listing_is_added() -> None:
    board = ProgressBoard({})
    board.update(event("runner_on_ok", "late"))
    assert board.hosts["late"].total == 0 and board.hosts["late"].done == 1
