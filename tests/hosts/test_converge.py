"""The roles converge on a real Debian 12 rootfs through `ailab nodes prepare`, and a second run changes nothing.

Exercised in the chroot: every file, package, permission and unit the roles manage. Not
exercised (guarded by ``*_apply_runtime``, false in a chroot): starting or reloading services,
sysctl --system, modprobe -r, update-initramfs, augenrules --load, usbguard generate-policy,
the AIDE database, MIG switching, reboot; and the NVIDIA driver itself
(``gpu_node_driver_install: false``: its kernel module cannot be built or loaded in a chroot;
the package set is only resolved, in test_results.py).
"""

from __future__ import annotations

import stat

import pytest
from tests.hosts.conftest import CliRun, Lab

pytestmark = pytest.mark.integration

ROLES = {"hardening", "gpu_node", "k8s_node"}


def test_first_converge_changes_every_role(first_converge: CliRun, lab: Lab) -> None:
    assert first_converge.returncode == 0, first_converge.stderr[-3000:]
    assert set(first_converge.changed_by_role()) >= ROLES
    stats = first_converge.stats()
    assert stats["failures"] == {} and stats["dark"] == {}
    # the per-host table
    row = next(line for line in first_converge.stdout.splitlines() if lab.host in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][1:] == [
        str(stats["ok"][lab.host]),
        str(stats["changed"][lab.host]),
        "0",
        "0",
        str(stats["skipped"].get(lab.host, 0)),
    ]


def test_second_converge_changes_nothing(second_converge: CliRun, lab: Lab) -> None:
    assert second_converge.returncode == 0, second_converge.stderr[-3000:]
    assert second_converge.changed_by_role() == {}, second_converge.changed_by_role()
    assert second_converge.stats()["changed"].get(lab.host, 0) == 0
    # every role ran (nothing was skipped wholesale)
    roles = {event["event_data"].get("role") for event in second_converge.events if event.get("event") == "runner_on_ok"}
    assert roles >= ROLES


def test_facts_are_gathered_once_per_run(second_converge: CliRun) -> None:
    """site.yml has four plays; the later three use the facts the first one gathered (ansible.cfg: gathering = smart)."""
    gathered = [
        event["event_data"]["play"]
        for event in second_converge.events
        if event.get("event") == "runner_on_ok" and event["event_data"].get("task_action") == "gather_facts"
    ]
    assert gathered == ["Check every role's variables before anything changes"]


def test_run_artifacts_are_kept_privately(first_converge: CliRun, lab: Lab) -> None:
    assert first_converge.run_dir is not None and first_converge.run_dir.parent == lab.home / "runs"
    assert stat.S_IMODE(first_converge.run_dir.stat().st_mode) == 0o700
    assert first_converge.events and (next(first_converge.run_dir.glob("artifacts/*/stdout"))).stat().st_size > 0
    assert f"artifacts: {first_converge.run_dir}" in first_converge.stderr
