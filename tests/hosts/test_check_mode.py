"""`ailab nodes prepare --check --diff` on a pristine rootfs: it reports the changes and makes none."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.hosts.chroot_rootfs import Rootfs, pristine_rootfs, stub_toolkit_mirror, unavailable
from tests.hosts.conftest import DUMMY_K3S, CliRun, ailab, write_inventory

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh() -> Iterator[Rootfs]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with pristine_rootfs() as rootfs:
        yield rootfs


@pytest.fixture(scope="module")
def check_run(fresh: Rootfs, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    work = tmp_path_factory.mktemp("check")
    artifact = work / "k3s"
    artifact.write_bytes(DUMMY_K3S)
    mirror = stub_toolkit_mirror(fresh, work / "gnupg")
    inventory = write_inventory(
        work / "inventory.yml",
        {str(fresh.path): {"k8s_node_gpu_pool": "h100"}},
        {
            "k8s_node_artifact_path": str(artifact),
            "k8s_node_artifact_sha256": hashlib.sha256(DUMMY_K3S).hexdigest(),
            "gpu_node_driver_install": False,
            "gpu_node_container_toolkit_repo_url": mirror.repo_url,
            "gpu_node_container_toolkit_repo_key_url": mirror.key_url,
        },
    )
    return ailab(work / "home", "nodes", "prepare", "-i", str(inventory), "--check", "--diff")


def test_check_mode_reports_changes(check_run: CliRun, fresh: Rootfs) -> None:
    assert check_run.returncode == 0, check_run.stderr[-3000:]
    assert check_run.stats()["changed"][str(fresh.path)] > 20
    # --diff: file contents as they would be written
    assert "+++ /etc/apt/apt.conf.d/20auto-upgrades" in check_run.stdout
    assert '+APT::Periodic::Unattended-Upgrade "1";' in check_run.stdout


def test_check_mode_changes_nothing(check_run: CliRun, fresh: Rootfs) -> None:
    assert check_run.returncode == 0
    assert not Path(fresh.file("/etc/rancher")).exists()
    assert not fresh.file("/etc/sysctl.d/60-ailab-hardening.conf").exists()
    status = fresh.run("dpkg-query", "-W", "-f", "${db:Status-Status}", "chrony", check=False).stdout
    assert status != "installed"
