"""What `ailab nodes prepare` refuses, on the converged rootfs: bad values before any change, a wrong k3s
artifact, an unknown tag; and an unreachable host that does not stop the others."""

from __future__ import annotations

import shutil

import pytest
from tests.hosts.conftest import CliRun, Lab, ailab, write_inventory

pytestmark = pytest.mark.integration

PREFLIGHT_PLAY = "Check every role's variables before anything changes"


@pytest.fixture(scope="module")
def host(lab: Lab, second_converge: CliRun) -> Lab:
    assert second_converge.returncode == 0, second_converge.stderr[-3000:]
    return lab


def _error_line(run: CliRun) -> str:
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, run.stderr
    return errors[0]


def test_a_bad_value_stops_the_run_before_any_change(host: Lab) -> None:
    run = ailab(host.home, "nodes", "prepare", "-i", str(host.inventory), "-e", "gpu_node_sharing=bogus")
    assert run.returncode == 2
    assert _error_line(run) == (
        f"error: variable refused, nothing changed there: {host.host}: gpu_node variables: "
        "value of gpu_node_sharing must be one of: exclusive, time-slicing, mig, got: bogus"
    )
    assert run.played() == {PREFLIGHT_PLAY} and run.changed_by_role() == {}


def test_a_bad_type_is_refused_with_the_argument_spec_message(host: Lab) -> None:
    run = ailab(host.home, "nodes", "prepare", "-i", str(host.inventory), "-e", "hardening_sshd_port=twenty-two")
    assert run.returncode == 2
    assert (
        "hardening variables: argument 'hardening_sshd_port' is of type str and we were unable to convert to int"
        in _error_line(run)
    )
    assert run.played() == {PREFLIGHT_PLAY}


def test_an_air_gap_artifact_with_the_wrong_sha256_is_refused(host: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    wrong = tmp_path_factory.mktemp("wrong") / "k3s"
    wrong.write_bytes(b"#!/bin/sh\necho tampered\n")
    run = ailab(host.home, "nodes", "prepare", "-i", str(host.inventory), "-e", f"k8s_node_artifact_path={wrong}")
    assert run.returncode == 2
    line = _error_line(run)
    assert f"refusing {wrong}: its sha256 is " in line and f"not the expected {host.sha256}" in line
    assert run.played() == {PREFLIGHT_PLAY}
    assert host.rootfs.file("/usr/local/bin/k3s").read_bytes() == host.artifact.read_bytes()


def test_a_download_with_the_wrong_sha256_installs_nothing(host: Lab) -> None:
    binary = host.rootfs.file("/usr/local/bin/k3s")
    kept = binary.read_bytes()
    host.rootfs.file("/srv/k3s-tampered").write_bytes(b"#!/bin/sh\necho tampered\n")
    binary.unlink()
    try:
        run = ailab(
            host.home, "nodes", "prepare", "-i", str(host.inventory), "--tags", "k8s_node_binary",
            "-e", "k8s_node_artifact_path=", "-e", "k8s_node_artifact_url=file:///srv/k3s-tampered",
        )  # fmt: skip
        assert run.returncode == 1
        assert "Download k3s" in run.stderr and "checksum" in run.stderr.lower()
        assert not binary.exists()
    finally:
        binary.write_bytes(kept)
        binary.chmod(0o755)


def test_an_unknown_tag_is_bad_input(host: Lab) -> None:
    run = ailab(host.home, "nodes", "prepare", "-i", str(host.inventory), "--tags", "cis_99.9")
    assert run.returncode == 2 and _error_line(run).startswith("error: unknown tag cis_99.9; the playbook's tags are: ")
    assert run.run_dir is None  # refused before ansible-runner started


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client (make apt installs openssh-client)")
def test_an_unreachable_host_is_reported_and_the_others_carry_on(host: Lab, tmp_path_factory: pytest.TempPathFactory) -> None:
    ghost = "ghost.lab.invalid"
    # Nothing listens on the discard port: the SSH connection is refused at once.
    unreachable = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 9}
    inventory = write_inventory(
        tmp_path_factory.mktemp("unreachable") / "inventory.yml",
        {host.host: {}, ghost: unreachable},
        {"k8s_node_artifact_path": str(host.artifact), "k8s_node_artifact_sha256": host.sha256, "hardening_ip_forwarding": True},
    )
    run = ailab(host.home, "nodes", "prepare", "-i", str(inventory), "--tags", "hardening_banner")
    assert run.returncode == 1
    assert _error_line(run) == f"error: 1 of 2 hosts failed or were unreachable: {ghost}"
    stats = run.stats()
    assert stats["dark"] == {ghost: 1} and stats["ok"][host.host] > 0 and host.host not in stats["failures"]
    rows = {line.split("│")[1].strip(): line for line in run.stdout.splitlines() if line.startswith("│")}
    assert set(rows) == {host.host, ghost}
    assert [cell.strip() for cell in rows[ghost].split("│")[2:7]] == ["0", "0", "0", "1", "0"]
