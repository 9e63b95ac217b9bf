"""Integration fixtures: a Debian 12 rootfs, converged twice by ``ailab nodes prepare`` through the chroot connection.

The rootfs is session-wide: the first converge, the idempotent second one and every check of
the results share it (building and converging take minutes on a small machine). The tests
that try refusals run after the converges and leave the rootfs as they found it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.hosts.chroot_rootfs import Mirror, Rootfs, pristine_rootfs, stub_toolkit_mirror, unavailable

DUMMY_K3S = b"#!/bin/sh\necho 'k3s stand-in (ailab tests): no release is downloaded'\n"


@dataclass
class Lab:
    """The converged host and what the tests gave ailab to converge it."""

    rootfs: Rootfs
    inventory: Path
    artifact: Path
    sha256: str
    mirror: Mirror
    home: Path

    @property
    def host(self) -> str:
        return str(self.rootfs.path)


@dataclass
class CliRun:
    """One `ailab nodes ...` run: exit code, output, and the events ansible-runner kept in the run's artifacts."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    run_dir: Path | None
    events: list[dict[str, Any]] = field(default_factory=list)

    def changed_by_role(self) -> Counter[str]:
        return Counter(
            event["event_data"].get("role") or "(play)"
            for event in self.events
            if event.get("event") == "runner_on_ok" and event["event_data"].get("res", {}).get("changed")
        )

    def stats(self) -> dict[str, Any]:
        return next(event["event_data"] for event in self.events if event.get("event") == "playbook_on_stats")

    def played(self) -> set[str]:
        """Names of the plays that ran a task."""
        return {event["event_data"].get("play", "") for event in self.events if event.get("event") == "runner_on_ok"}


def ailab(home: Path, *args: str) -> CliRun:
    """Run the real CLI in a child process with ``AILAB_HOME=home``; collect the newest run's events."""
    runs = home / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ailab", *args],
        env={**os.environ, "AILAB_HOME": str(home), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    new = sorted(set(runs.iterdir()) - before) if runs.exists() else []
    run_dir = new[-1] if new else None
    events = []
    if run_dir:
        files = run_dir.glob("artifacts/*/job_events/*.json")
        events = sorted((json.loads(path.read_text()) for path in files), key=lambda event: event.get("counter", 0))
    return CliRun(done.returncode, done.stdout, done.stderr, seconds, run_dir, events)


def write_inventory(path: Path, hosts: dict[str, dict[str, Any]], group_vars: dict[str, Any]) -> Path:
    """A one-GPU-node inventory in the lab's groups; every host is entered through the chroot connection."""
    inventory = {
        "all": {
            "children": {
                "servers": {
                    "vars": {"ansible_connection": "community.general.chroot", **group_vars},
                    "children": {"gpu_nodes": {"hosts": hosts}, "cpu_nodes": {"hosts": {}}},
                }
            }
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def new_lab(rootfs: Rootfs, work: Path) -> Lab:
    """The host the tests (and the benchmark) converge: ``rootfs`` in the onprem stack's h100 pool, k3s
    from a stand-in air-gap artifact, the toolkit from the stub mirror; files and ailab's data dir under ``work``."""
    artifact = work / "k3s"
    artifact.write_bytes(DUMMY_K3S)
    sha256 = hashlib.sha256(DUMMY_K3S).hexdigest()
    mirror = stub_toolkit_mirror(rootfs, work / "gnupg")
    inventory = write_inventory(
        work / "inventory.yml",
        {
            str(rootfs.path): {
                # the onprem stack's h100 pool (stacks/Pulumi.onprem.yaml)
                "k8s_node_gpu_pool": "h100",
                "k8s_node_mig_config": "all-3g.40gb",
                "gpu_node_sharing": "mig",
            }
        },
        {
            "hardening_ip_forwarding": True,
            "k8s_node_artifact_path": str(artifact),
            "k8s_node_artifact_sha256": sha256,
            # Not exercised here: the driver's kernel module cannot be built or loaded in a chroot.
            "gpu_node_driver_install": False,
            "gpu_node_container_toolkit_repo_url": mirror.repo_url,
            "gpu_node_container_toolkit_repo_key_url": mirror.key_url,
        },
    )
    return Lab(rootfs, inventory, artifact, sha256, mirror, work / "ailab-home")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("hosts")
    with pristine_rootfs() as rootfs:
        yield new_lab(rootfs, work)


@pytest.fixture(scope="session")
def first_converge(lab: Lab) -> CliRun:
    return ailab(lab.home, "nodes", "prepare", "-i", str(lab.inventory))


@pytest.fixture(scope="session")
def second_converge(lab: Lab, first_converge: CliRun) -> CliRun:
    assert first_converge.returncode == 0, first_converge.stderr[-3000:]
    return ailab(lab.home, "nodes", "prepare", "-i", str(lab.inventory))
