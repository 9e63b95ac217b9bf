"""Debian 13 (trixie), minbase, through the chroot connection: ``--check`` first (reports, changes
nothing), then the converge, then a rerun that changes nothing. (Debian 12 gets the same in
test_check_mode.py and test_converge.py; Debian 13 booted over SSH in test_booted.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.hosts.chroot_rootfs import pristine_rootfs, unavailable
from tests.hosts.conftest import CliRun, Lab, ailab, new_lab

pytestmark = pytest.mark.integration

ROLES = {"hardening", "gpu_node", "k8s_node"}


@pytest.fixture(scope="module")
def trixie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with pristine_rootfs("trixie") as rootfs:
        yield new_lab(rootfs, tmp_path_factory.mktemp("trixie"))


@pytest.fixture(scope="module")
def check_run(trixie: Lab) -> CliRun:
    return ailab(trixie.home, "nodes", "prepare", "-i", str(trixie.inventory), "--check")


@pytest.fixture(scope="module")
def converge(trixie: Lab, check_run: CliRun) -> CliRun:
    assert check_run.returncode == 0, check_run.stderr[-3000:]
    return ailab(trixie.home, "nodes", "prepare", "-i", str(trixie.inventory))


@pytest.fixture(scope="module")
def rerun(trixie: Lab, converge: CliRun) -> CliRun:
    assert converge.returncode == 0, converge.stderr[-3000:]
    return ailab(trixie.home, "nodes", "prepare", "-i", str(trixie.inventory))


def test_the_rootfs_is_a_minimal_debian_13(trixie: Lab) -> None:
    assert trixie.rootfs.file("/etc/debian_version").read_text().startswith("13.")
    # minbase: no systemd, no sysctl, no /etc/sysctl.d until the roles bring them
    installed = trixie.rootfs.run("dpkg-query", "-W", "-f", "${Package} ", "systemd", "procps", check=False).stdout
    assert "systemd" not in installed.split() and "procps" not in installed.split()


def test_check_mode_reports_and_changes_nothing(trixie: Lab, check_run: CliRun) -> None:
    assert check_run.returncode == 0, check_run.stderr[-3000:]
    assert check_run.stats()["changed"][trixie.host] > 20
    assert not trixie.rootfs.file("/etc/sysctl.d/60-ailab-hardening.conf").exists()
    assert not trixie.rootfs.file("/usr/local/bin/k3s").exists()


def test_the_converge_changes_every_role(trixie: Lab, converge: CliRun) -> None:
    assert converge.returncode == 0, converge.stderr[-3000:]
    assert set(converge.changed_by_role()) >= ROLES
    assert "kernel.kptr_restrict = 2" in trixie.rootfs.file("/etc/sysctl.d/60-ailab-hardening.conf").read_text()
    assert trixie.rootfs.file("/usr/local/bin/k3s").read_bytes() == trixie.artifact.read_bytes()
    assert trixie.rootfs.file("/usr/bin/nvidia-ctk").exists()  # an image build gets the GPU steps


def test_the_rerun_changes_nothing(trixie: Lab, rerun: CliRun) -> None:
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.changed_by_role() == {}, rerun.changed_by_role()
    assert rerun.stats()["changed"].get(trixie.host, 0) == 0
