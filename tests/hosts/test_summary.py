"""Per-host counts, failures as one line, bad-input detection and exit codes."""

from __future__ import annotations

from tests.hosts.events import event

from ailab.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK
from ailab.hosts.summary import HostSummary, ansible_error, exit_code, failure, summaries

STATS = {
    "ok": {"a": 10, "b": 2},
    "changed": {"a": 3},
    "failures": {"b": 1},
    "dark": {"c": 1},
    "skipped": {"a": 4},
    "rescued": {},
    "ignored": {"a": 1},
}


def test_summaries_from_stats() -> None:
    hosts = summaries(STATS)
    assert [host.host for host in hosts] == ["a", "b", "c"]
    assert hosts[0] == HostSummary("a", ok=10, changed=3, skipped=4, ignored=1)
    assert not hosts[1].succeeded and not hosts[2].succeeded and hosts[0].succeeded


def test_argument_spec_failure_is_bad_input_on_one_line() -> None:
    found = failure(
        event(
            "runner_on_failed",
            "gpu-01",
            task="Validating arguments against arg spec 'preflight'",
            task_action="ansible.builtin.validate_argument_spec",
            role="gpu_node",
            res={
                "msg": "Validation of arguments failed:\nvalue of gpu_node_sharing must be one of: exclusive, time-slicing, mig, got: bogus",
                "argument_errors": ["value of gpu_node_sharing must be one of: exclusive, time-slicing, mig, got: bogus"],
            },
        )
    )
    assert found is not None and found.bad_input
    assert (
        found.line()
        == "gpu-01: gpu_node variables: value of gpu_node_sharing must be one of: exclusive, time-slicing, mig, got: bogus"
    )


def test_preflight_assertion_is_bad_input() -> None:
    found = failure(
        event(
            "runner_on_failed",
            "gpu-01",
            task="Refuse an air-gap k3s file",
            task_action="ansible.builtin.assert",
            task_path="/repo/roles/k8s_node/tasks/preflight.yml:52",
            res={"msg": "refusing /tmp/k3s:\nits sha256 is x"},
        )
    )
    assert found is not None and found.bad_input and found.message == "refusing /tmp/k3s: its sha256 is x"


def test_other_failures_and_unreachable_hosts() -> None:
    failed = failure(
        event("runner_on_failed", "a", task="Install chrony", task_path="/r/tasks/time_sync.yml:2", res={"msg": "boom"})
    )
    assert failed is not None and not failed.bad_input and failed.line() == "a: Install chrony: boom"
    loop = failure(
        event("runner_on_failed", "a", task="t", res={"results": [{"failed": False}, {"failed": True, "msg": "item 2"}]})
    )
    assert loop is not None and loop.message == "item 2"
    dark = failure(event("runner_on_unreachable", "c", task="Gathering Facts", res={"msg": "chroot /x does not exist"}))
    assert dark is not None and not dark.bad_input
    assert failure(event("runner_on_failed", "a", ignore_errors=True, res={"msg": "x"})) is None
    assert failure(event("runner_on_ok", "a")) is None


def test_exit_codes() -> None:
    good, bad = HostSummary("a", ok=1), HostSummary("b", failed=1)
    refused = failure(event("runner_on_failed", "b", task_path="r/tasks/preflight.yml:1", res={"msg": "no"}))
    assert refused is not None
    assert exit_code([good], []) == EXIT_OK
    assert exit_code([good, bad], []) == EXIT_FINDINGS
    assert exit_code([good, bad], [refused]) == EXIT_BAD_INPUT


def test_ansible_error_line() -> None:
    assert (
        ansible_error("[WARNING]: x\n[ERROR]: Specified inventory leaves us with no hosts\n")
        == "Specified inventory leaves us with no hosts"
    )
    assert ansible_error("ERROR! the playbook could not be found") == "the playbook could not be found"
    assert ansible_error("all fine") is None
