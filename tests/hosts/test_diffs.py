"""--diff: module diff results rendered as unified diffs."""

from __future__ import annotations

from tests.hosts.events import event

from ailab.hosts.diffs import task_diffs


def test_before_after_becomes_a_unified_diff() -> None:
    result = {
        "changed": True,
        "diff": [{"before": "a\nb\n", "after": "a\nc\n", "before_header": "/etc/x", "after_header": "/etc/x"}],
    }
    [diff] = task_diffs(event("runner_on_ok", "h", task="Write x", res=result))
    assert (diff.host, diff.task) == ("h", "Write x")
    assert diff.text.splitlines() == ["--- /etc/x", "+++ /etc/x", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]


def test_prepared_state_and_loop_items() -> None:
    result = {
        "changed": True,
        "results": [
            {"changed": True, "diff": {"prepared": "The following NEW packages will be installed:\n  chrony\n"}},
            {"changed": False, "diff": {"before": "x", "after": "y"}},
            {"changed": True, "diff": {"before": {"mode": "0644"}, "after": {"mode": "0600"}, "before_header": "/etc/crontab"}},
        ],
    }
    texts = [diff.text for diff in task_diffs(event("runner_on_ok", "h", task="t", res=result))]
    assert texts[0] == "The following NEW packages will be installed:\n  chrony"
    assert '-  "mode": "0644"' in texts[1] and '+  "mode": "0600"' in texts[1]
    assert len(texts) == 2


def test_unchanged_results_have_no_diff() -> None:
    assert task_diffs(event("runner_on_ok", "h", res={"changed": False, "diff": {"before": "a", "after": "b"}})) == []
    assert task_diffs(event("runner_on_failed", "h", res={"changed": True, "diff": {"before": "a", "after": "b"}})) == []
