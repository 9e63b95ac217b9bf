"""site.yml against a booted Debian 13 (systemd-nspawn, private network namespaces) over SSH, then an
independent check of the running system: what a chroot cannot show.

Order: ``--check`` on the pristine host (changes nothing), the converge, the idempotent rerun. The
checks below read the running host (``sshd -T``, ``nft list``, ``systemctl``, ``/proc/sys``) and
hold the expected values themselves, as a dev-sec or ansible-lockdown profile does: none is read
from the roles' variables.

Not exercised here, and why:
* auditd: kernel auditing answers only the initial PID namespace, so auditd cannot run in any
  container; the role configures and enables it and says so (checked below).
* kernel.* and fs.* sysctl values: a container shares its host's kernel and nspawn mounts those
  read-only; only net.* values are per network namespace and checked live.
* k3s itself: the binary is a stand-in (no release can be downloaded here) served from
  127.0.0.1, so the k3s service is installed and enabled but not started (k8s_node_apply_runtime false).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.hosts.booted import (
    ARTIFACT_PORT,
    CTL_ADDRESS,
    BootedHost,
    CannotBootError,
    booted_host,
    booted_unavailable,
    lab_inventory,
)
from tests.hosts.conftest import DUMMY_K3S, CliRun, ailab

pytestmark = pytest.mark.integration

SUITE = "trixie"
# gpu_node changes nothing on a host without a GPU (its steps are skipped); it runs all the same.
CHANGING_ROLES = {"hardening", "k8s_node"}
ROLES = {*CHANGING_ROLES, "gpu_node"}


@dataclass
class Booted:
    host: BootedHost
    inventory: Path
    home: Path


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    reason = booted_unavailable()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("booted")
    try:
        with booted_host(SUITE, work) as host:
            yield Booted(host, lab_inventory(host, work), work / "ailab-home")
    except CannotBootError as cannot:
        pytest.skip(f"cannot boot a container here ({cannot}); the booted tier needs systemd-nspawn to run as root")


@pytest.fixture(scope="module")
def check_run(booted: Booted) -> CliRun:
    return ailab(booted.home, "nodes", "prepare", "-i", str(booted.inventory), "--check")


@pytest.fixture(scope="module")
def converge(booted: Booted, check_run: CliRun) -> CliRun:
    assert check_run.returncode == 0, check_run.stderr[-3000:]
    return ailab(booted.home, "nodes", "prepare", "-i", str(booted.inventory))


@pytest.fixture(scope="module")
def rerun(booted: Booted, converge: CliRun) -> CliRun:
    assert converge.returncode == 0, converge.stderr[-3000:]
    return ailab(booted.home, "nodes", "prepare", "-i", str(booted.inventory))


@pytest.fixture(scope="module")
def host(booted: Booted, rerun: CliRun) -> BootedHost:
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    return booted.host


def _handlers(run: CliRun) -> set[str]:
    return {
        event["event_data"]["task"]
        for event in run.events
        if event.get("event") == "runner_on_ok" and event["event_data"].get("task_action") != "gather_facts"
        and event["event_data"].get("res", {}).get("changed") and event["event_data"].get("task") in HANDLERS
    }  # fmt: skip


HANDLERS = {"Apply sysctl settings", "Restart sshd", "Reload nftables", "Restart fail2ban", "Restart chrony"}


def test_check_mode_changes_nothing(booted: Booted, check_run: CliRun) -> None:
    assert check_run.returncode == 0, check_run.stderr[-3000:]
    assert check_run.stats()["changed"].get("booted-node", 0) > 0
    assert booted.host.ssh("test -e /etc/nftables.conf && grep -q ailab_filter /etc/nftables.conf", check=False).returncode != 0
    assert booted.host.ssh("dpkg -s fail2ban", check=False).returncode != 0


def test_the_converge_changes_every_role_and_runs_the_handlers(converge: CliRun) -> None:
    assert converge.returncode == 0, converge.stderr[-3000:]
    assert set(converge.changed_by_role()) == CHANGING_ROLES
    assert {event["event_data"].get("role") for event in converge.events if event.get("event") == "runner_on_ok"} >= ROLES
    assert _handlers(converge) == HANDLERS


def test_the_rerun_changes_nothing(rerun: CliRun) -> None:
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.changed_by_role() == {}, rerun.changed_by_role()
    assert rerun.stats()["changed"].get("booted-node", 0) == 0


def test_the_gpu_steps_are_skipped_and_the_run_says_so(converge: CliRun) -> None:
    messages = [
        str(event["event_data"]["res"].get("msg", ""))
        for event in converge.events
        if event.get("event") == "runner_on_ok" and event["event_data"].get("role") == "gpu_node"
    ]
    assert any(message.startswith("No NVIDIA GPU on the PCI bus of booted-node") for message in messages), messages
    skipped = {
        event["event_data"]["task"]
        for event in converge.events
        if event.get("event") == "runner_on_skipped" and event["event_data"].get("role") == "gpu_node"
    }
    assert {"Install the NVIDIA driver", "Install the container toolkit", "Blacklist nouveau"} <= skipped


# The independent verifier: expected values written here, read from the running host.

SSHD_EXPECTED = {
    "permitrootlogin": "no",
    "passwordauthentication": "no",
    "kbdinteractiveauthentication": "no",
    "permitemptypasswords": "no",
    "hostbasedauthentication": "no",
    "ignorerhosts": "yes",
    "x11forwarding": "no",
    "allowtcpforwarding": "no",
    "allowagentforwarding": "no",
    "permituserenvironment": "no",
    "maxauthtries": "3",
    "logingracetime": "60",
    "loglevel": "VERBOSE",
    "banner": "/etc/issue.net",
    "usepam": "yes",
}
WEAK_ALGORITHMS = re.compile(
    r"(^|,)(3des|arcfour|blowfish|cast128|aes\d+-cbc|hmac-md5|hmac-sha1|umac-64|diffie-hellman-group1-|diffie-hellman-group14-sha1)"
)


def _sshd_settings(host: BootedHost) -> dict[str, str]:
    out = host.ssh("sshd -T").stdout
    return {key: value for key, _, value in (line.partition(" ") for line in out.splitlines())}


def test_sshd_runs_with_the_hardened_settings(host: BootedHost) -> None:
    assert host.ssh("systemctl is-active ssh").stdout.strip() == "active"
    settings = _sshd_settings(host)
    assert {key: settings.get(key) for key in SSHD_EXPECTED} == SSHD_EXPECTED
    assert int(settings["clientaliveinterval"]) <= 300 and int(settings["maxsessions"]) <= 10
    for key in ("ciphers", "macs", "kexalgorithms"):
        assert not WEAK_ALGORITHMS.search(settings[key]), (key, settings[key])


def test_root_cannot_log_in_over_ssh(host: BootedHost) -> None:
    """root's authorized_keys holds the test's key (booted.py): only PermitRootLogin no refuses it."""
    refused = subprocess.run(
        ["ssh", *host.ssh_options(), f"root@{host.address}", "true"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 255 and "Permission denied" in refused.stderr


def test_the_firewall_is_loaded_and_drops_by_default(host: BootedHost) -> None:
    ruleset = host.ssh("nft list ruleset").stdout
    assert re.search(r"type filter hook input priority filter; policy drop;", ruleset), ruleset
    assert re.search(r"tcp dport 22 .*accept", ruleset), ruleset
    assert host.ssh("systemctl is-enabled nftables").stdout.strip() == "enabled"


def test_a_port_not_allowed_is_unreachable_from_outside(host: BootedHost) -> None:
    # Something listens on 9999 inside the container, yet the firewall drops the connection from CTL.
    host.ssh("python3 -m http.server --bind 0.0.0.0 9999 </dev/null >/dev/null 2>&1 & echo $! > /run/ailab-probe.pid; sleep 1")
    try:
        probe = subprocess.run(
            ["ip", "netns", "exec", host.ctl_ns, "socat", "-T2", "/dev/null", f"TCP:{host.address}:9999,connect-timeout=3"],
            capture_output=True,
            text=True,
        )
        assert probe.returncode != 0
        assert (
            host.ssh("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 9999))'", check=False).returncode == 0
        )
    finally:
        host.ssh("kill $(cat /run/ailab-probe.pid)", check=False)


@pytest.mark.parametrize("unit", ["chrony", "fail2ban", "cron"])
def test_services_run(host: BootedHost, unit: str) -> None:
    assert host.ssh(f"systemctl is-active {unit}").stdout.strip() == "active"
    assert host.ssh(f"systemctl is-enabled {unit}").stdout.strip() == "enabled"


def test_chrony_tracks_the_configured_source(host: BootedHost) -> None:
    sources = host.ssh("chronyc -n sources").stdout
    assert CTL_ADDRESS in sources and "debian.pool" not in sources


def test_fail2ban_watches_sshd(host: BootedHost) -> None:
    status = host.ssh("fail2ban-client status sshd").stdout
    assert "Currently banned" in status


def test_unattended_upgrades_are_scheduled(host: BootedHost) -> None:
    for timer in ("apt-daily.timer", "apt-daily-upgrade.timer"):
        assert host.ssh(f"systemctl is-enabled {timer}").stdout.strip() == "enabled"
    config = host.ssh("apt-config dump").stdout
    assert 'APT::Periodic::Unattended-Upgrade "1";' in config
    assert "Debian-Security" in config


# net.* parameters live in the container's network namespace, so these are the live values.
LIVE_SYSCTLS = {
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.icmp_echo_ignore_broadcasts": "1",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv6.conf.all.accept_ra": "0",
}


def test_network_sysctls_are_live(host: BootedHost) -> None:
    keys = " ".join(LIVE_SYSCTLS)
    live = dict(line.split(" = ", 1) for line in host.ssh(f"sysctl {keys}").stdout.splitlines())
    assert live == LIVE_SYSCTLS


def test_kernel_sysctls_are_written_for_boot(host: BootedHost) -> None:
    """kernel.* and fs.* are the host kernel's (read-only in the container): the files are checked, not the values."""
    files = host.ssh("systemd-analyze cat-config sysctl.d").stdout
    for line in ("kernel.randomize_va_space = 2", "kernel.kptr_restrict = 2", "fs.suid_dumpable = 0"):
        assert line in files


def test_auditd_is_enabled_with_the_rules(host: BootedHost) -> None:
    assert host.ssh("systemctl is-enabled auditd").stdout.strip() == "enabled"
    rules = host.ssh("cat /etc/audit/rules.d/*.rules").stdout
    assert "-w /etc/sudoers -p wa" in rules and "-e 2" in rules
    if host.ssh("systemd-detect-virt --container", check=False).returncode == 0:
        assert host.ssh("systemctl is-active auditd", check=False).stdout.strip() == "inactive"
        pytest.skip("auditd cannot run in a container: the kernel answers audit requests only from the initial PID namespace")
    assert host.ssh("systemctl is-active auditd").stdout.strip() == "active"


def test_k3s_came_from_the_loopback_artifact(booted: Booted, host: BootedHost) -> None:
    assert host.ssh("sha256sum /usr/local/bin/k3s").stdout.split()[0] == hashlib.sha256(DUMMY_K3S).hexdigest()
    assert host.ssh("systemctl is-enabled k3s").stdout.strip() == "enabled"


def test_a_loopback_artifact_with_the_wrong_checksum_is_refused(booted: Booted, host: BootedHost) -> None:
    """A new release is expected (its sha256), but the file served is another: downloaded, refused, nothing replaced."""
    before = host.ssh("sha256sum /usr/local/bin/k3s; stat -c %Y /usr/local/bin/k3s").stdout
    expected = hashlib.sha256(DUMMY_K3S + b"echo the expected release\n").hexdigest()
    run = ailab(
        booted.home, "nodes", "prepare", "-i", str(booted.inventory), "--tags", "k8s_node_binary",
        "-e", f"k8s_node_artifact_url=http://127.0.0.1:{ARTIFACT_PORT}/k3s-tampered", "-e", f"k8s_node_artifact_sha256={expected}",
    )  # fmt: skip
    assert run.returncode == 1
    assert "Download k3s" in run.stderr and "checksum" in run.stderr.lower()
    assert host.ssh("sha256sum /usr/local/bin/k3s; stat -c %Y /usr/local/bin/k3s").stdout == before


def test_core_dumps_and_permissions(host: BootedHost) -> None:
    assert host.ssh("stat -c '%a %U' /etc/crontab /etc/ssh/sshd_config").stdout.split("\n")[:2] == ["600 root", "600 root"]
    assert "Storage=none" in host.ssh("systemd-analyze cat-config systemd/coredump.conf").stdout
    assert host.ssh("cat /etc/cron.allow").stdout == "root\n"
