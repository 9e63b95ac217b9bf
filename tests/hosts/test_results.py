"""What the converged rootfs holds: files, modes, packages, sysctl and sshd settings, audit rules, k3s config."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from tests.hosts.conftest import CliRun, Lab, ailab

from ailab.spec.gpu_sharing import gpu_taint, pool_node_labels
from ailab.spec.stackfile import load_stack_spec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def host(lab: Lab, second_converge: CliRun) -> Lab:
    """The rootfs after both converges."""
    assert second_converge.returncode == 0, second_converge.stderr[-3000:]
    return lab


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _sysctl(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_packages(host: Lab) -> None:
    wanted = [
        "openssh-server", "auditd", "audispd-plugins", "chrony", "cron", "nftables", "libpam-pwquality",
        "unattended-upgrades", "aide", "debsums", "usbguard", "acct", "chkrootkit", "libpam-tmpdir",
        "apt-listchanges", "fail2ban",
        "python3-pynvml", "nvidia-container-toolkit",
    ]  # fmt: skip
    listed = host.rootfs.run("dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\n", *wanted).stdout
    assert sorted(line.split()[0] for line in listed.splitlines() if line.endswith(" installed")) == sorted(wanted)
    # without recommends: no compiler came with the hardening packages
    binutils = host.rootfs.run("dpkg-query", "-W", "-f", "${db:Status-Status}", "binutils", check=False).stdout
    assert binutils != "installed"


def test_sysctl_files(host: Lab) -> None:
    hardening = _sysctl(host.rootfs.file("/etc/sysctl.d/60-ailab-hardening.conf"))
    assert hardening["kernel.randomize_va_space"] == "2"
    assert hardening["net.ipv4.conf.all.accept_redirects"] == "0"
    assert hardening["net.ipv4.tcp_syncookies"] == "1"
    assert hardening["fs.suid_dumpable"] == "0"
    assert hardening["net.ipv4.ip_forward"] == "1"  # hardening_ip_forwarding: a Kubernetes node
    k3s = _sysctl(host.rootfs.file("/etc/sysctl.d/90-ailab-k8s_node.conf"))
    assert k3s == {
        "kernel.keys.root_maxbytes": "25000000",
        "kernel.keys.root_maxkeys": "1000000",
        "kernel.panic": "10",
        "kernel.panic_on_oops": "1",
        "net.ipv4.ip_forward": "1",
        "vm.overcommit_memory": "1",
        "vm.panic_on_oom": "0",
    }
    # procps parses both files (syntax), without applying them to the host kernel
    for name in ("60-ailab-hardening.conf", "90-ailab-k8s_node.conf"):
        assert _mode(host.rootfs.file(f"/etc/sysctl.d/{name}")) == 0o644


def test_sshd_effective_settings(host: Lab) -> None:
    effective = dict(line.split(" ", 1) for line in host.rootfs.run("/usr/sbin/sshd", "-T").stdout.splitlines() if " " in line)
    assert effective["permitrootlogin"] == "no"
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["maxauthtries"] == "3"
    assert (
        effective["ciphers"]
        == "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"
    )
    assert "cbc" not in effective["ciphers"] and "sha1" not in effective["macs"]
    assert effective["kexalgorithms"].startswith("sntrup761x25519-sha512@openssh.com,curve25519-sha256")
    assert effective["disableforwarding"] == "yes" and effective["x11forwarding"] == "no"
    assert _mode(host.rootfs.file("/etc/ssh/sshd_config")) == 0o600
    keys = list(host.rootfs.file("/etc/ssh").glob("ssh_host_*_key"))
    assert keys and all(_mode(key) == 0o600 for key in keys)
    assert all(_mode(key.with_suffix(".pub")) == 0o644 for key in keys)


def test_audit_rules(host: Lab) -> None:
    rules = host.rootfs.file("/etc/audit/rules.d/60-ailab-hardening.rules").read_text()
    assert "-w /etc/shadow -p wa -k identity" in rules
    assert "-a always,exit -F arch=b64 -S adjtimex,settimeofday,clock_settime -k time-change" in rules
    # every setuid/setgid program of the host, e.g. passwd
    assert "-a always,exit -F path=/usr/bin/passwd -F perm=x -F auid>=1000 -F auid!=unset -k privileged" in rules
    assert host.rootfs.file("/etc/audit/rules.d/99-ailab-finalize.rules").read_text().strip().endswith("-e 2")
    conf = host.rootfs.file("/etc/audit/auditd.conf").read_text()
    assert "max_log_file_action = keep_logs" in conf


def test_accounts_and_filesystems(host: Lab) -> None:
    login_defs = host.rootfs.file("/etc/login.defs").read_text()
    for line in ("PASS_MAX_DAYS\t365", "PASS_MIN_DAYS\t1", "UMASK\t027", "ENCRYPT_METHOD\tSHA512"):
        assert f"\n{line}\n" in login_defs
    assert "minlen = 14" in host.rootfs.file("/etc/security/pwquality.conf.d/60-ailab-hardening.conf").read_text()
    assert "pam_pwquality.so" in host.rootfs.file("/etc/pam.d/common-password").read_text()
    modules = host.rootfs.file("/etc/modprobe.d/ailab-hardening-filesystems.conf").read_text()
    assert "install cramfs /bin/false" in modules and "blacklist usb-storage" in modules
    assert "install dccp /bin/false" in host.rootfs.file("/etc/modprobe.d/ailab-hardening-network-protocols.conf").read_text()
    assert "* hard core 0" in host.rootfs.file("/etc/security/limits.d/60-ailab-hardening-coredump.conf").read_text()
    assert "readonly TMOUT" in host.rootfs.file("/etc/profile.d/ailab-hardening-timeout.sh").read_text()
    assert "pam_tmpdir.so" in host.rootfs.file("/etc/pam.d/common-session").read_text()


def test_fail2ban_jail(host: Lab) -> None:
    # fail2ban's own parser reads the configuration as the daemon would
    dump = host.rootfs.run("fail2ban-client", "--dump", check=False)
    assert dump.returncode == 0, dump.stderr
    assert "['add', 'sshd', 'systemd']" in dump.stdout
    assert "nftables" in dump.stdout


def test_chrony_uses_the_configured_sources_only(host: Lab) -> None:
    """The distribution's pool in chrony.conf is left out: the configured sources, in sources.d, are the only ones."""
    effective = host.rootfs.run("chronyd", "-p").stdout.splitlines()  # chrony.conf as chronyd parses it
    assert [line for line in effective if line.split()[0] in ("pool", "server", "peer")] == []
    assert "sourcedir /etc/chrony/sources.d" in effective
    sources = host.rootfs.file("/etc/chrony/sources.d/ailab-hardening.sources").read_text().splitlines()
    assert "pool pool.ntp.org iburst" in sources


def test_cron_is_root_only(host: Lab) -> None:
    assert _mode(host.rootfs.file("/etc/crontab")) == 0o600
    assert all(_mode(host.rootfs.file(f"/etc/cron.{kind}")) == 0o700 for kind in ("hourly", "daily", "weekly", "monthly", "d"))
    assert host.rootfs.file("/etc/cron.allow").read_text() == "root\n"
    assert not host.rootfs.file("/etc/cron.deny").exists()


def test_firewall_policy(host: Lab) -> None:
    ruleset = host.rootfs.file("/etc/nftables.conf")
    text = ruleset.read_text()
    assert "policy drop;" in text and "flush ruleset" not in text
    for rule in ('tcp dport 22 accept comment "ssh"', "tcp dport 6443 accept", "tcp dport 10250 accept", "udp dport 8472 accept"):
        assert rule in text
    # nft parses it (check mode: nothing is loaded into the host's kernel)
    checked = host.rootfs.run("/usr/sbin/nft", "-c", "-f", "/etc/nftables.conf", check=False)
    assert checked.returncode == 0, checked.stderr
    assert host.rootfs.file("/etc/systemd/system/sysinit.target.wants/nftables.service").is_symlink()


def test_the_firewall_follows_the_sshd_port(host: Lab) -> None:
    """sshd moved to another port stays reachable: the ssh rule moves with it (a check run: nothing changes)."""
    run = ailab(
        host.home, "nodes", "prepare", "-i", str(host.inventory), "--check", "--diff",
        "--tags", "cis_5.1,cis_4.2", "-e", "hardening_sshd_port=2222",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    added = {" ".join(line[1:].split()) for line in run.stdout.splitlines() if line.startswith("+")}
    assert "Port 2222" in added
    assert 'tcp dport 2222 accept comment "ssh"' in added


def test_security_updates(host: Lab) -> None:
    sources = host.rootfs.file("/etc/apt/sources.list.d/ailab-hardening-security.sources").read_text()
    assert "Suites: bookworm-security" in sources  # debootstrap leaves it out; the role adds it
    config = host.rootfs.file("/etc/apt/apt.conf.d/52ailab-hardening-unattended-upgrades").read_text()
    assert "#clear Unattended-Upgrade::Origins-Pattern;" in config and "label=Debian-Security" in config
    dry = host.rootfs.run("unattended-upgrade", "--dry-run", "--debug", check=False)
    assert "Allowed origins are: origin=Debian,codename=bookworm-security,label=Debian-Security" in dry.stdout + dry.stderr


def test_gpu_node_files(host: Lab) -> None:
    nonfree = host.rootfs.file("/etc/apt/sources.list.d/ailab-gpu_node-debian-nonfree.sources").read_text()
    assert "Components: contrib non-free non-free-firmware" in nonfree
    assert "blacklist nouveau" in host.rootfs.file("/etc/modprobe.d/ailab-gpu_node-nouveau.conf").read_text()
    unit = host.rootfs.file("/etc/systemd/system/nvidia-persistenced.service").read_text()
    assert "--persistence-mode" in unit
    assert host.rootfs.file("/etc/systemd/system/multi-user.target.wants/nvidia-persistenced.service").is_symlink()
    toolkit = host.rootfs.file("/etc/apt/sources.list.d/ailab-nvidia-container-toolkit.sources").read_text()
    assert f"URIs: {host.mirror.repo_url}" in toolkit and "Suites: /" in toolkit
    assert host.rootfs.run("nvidia-ctk").stdout.strip() == "nvidia-ctk stub (ailab tests)"
    dropin = host.rootfs.file("/etc/rancher/k3s/config.yaml.d/50-gpu_node.yaml")
    assert yaml.safe_load(dropin.read_text()) == {"default-runtime": "nvidia"} and _mode(dropin) == 0o600


def test_debian_driver_packages_resolve(host: Lab) -> None:
    """The driver is not installed in the chroot (no kernel module there); its package set must still resolve."""
    wanted = yaml.safe_load(Path("roles/gpu_node/vars/Debian.yml").read_text())["gpu_node_driver_packages"]
    simulated = host.rootfs.run("apt-get", "install", "--simulate", "--no-install-recommends", *wanted, check=False)
    assert simulated.returncode == 0, simulated.stderr
    assert "Inst nvidia-kernel-dkms" in simulated.stdout


def test_k3s_config_carries_the_pool_labels_and_hardening(host: Lab) -> None:
    config = yaml.safe_load(host.rootfs.file("/etc/rancher/k3s/config.yaml").read_text())
    spec, _ = load_stack_spec("onprem")
    pool = next(pool for pool in spec.gpu_pools if pool.name == "h100")
    assert sorted(config["node-label"]) == sorted(f"{key}={value}" for key, value in pool_node_labels(pool).items())
    taint = gpu_taint()
    assert config["node-taint"] == [f"{taint['key']}={taint['value']}:{taint['effect']}"]
    assert config["protect-kernel-defaults"] is True and config["secrets-encryption"] is True
    assert "audit-log-path=/var/lib/rancher/k3s/server/logs/audit.log" in config["kube-apiserver-arg"]
    assert _mode(host.rootfs.file("/etc/rancher/k3s/config.yaml")) == 0o600
    policy = yaml.safe_load(host.rootfs.file("/etc/rancher/k3s/audit-policy.yaml").read_text())
    assert policy["kind"] == "Policy" and policy["rules"][-1] == {"level": "Metadata"}
    assert _mode(host.rootfs.file("/var/lib/rancher/k3s/server/logs")) == 0o700


def test_k3s_binary_and_service(host: Lab) -> None:
    binary = host.rootfs.file("/usr/local/bin/k3s")
    assert binary.read_bytes() == host.artifact.read_bytes() and _mode(binary) == 0o755
    assert "ExecStart=/usr/local/bin/k3s server" in host.rootfs.file("/etc/systemd/system/k3s.service").read_text()
    assert host.rootfs.file("/etc/systemd/system/multi-user.target.wants/k3s.service").is_symlink()


def test_gpu_facts_without_a_driver(host: Lab) -> None:
    """The role's module (ailab's NVML code, bundled by Ansible) answers cleanly on a host without the driver."""
    run = ailab(host.home, "nodes", "facts", "-i", str(host.inventory), "--json")
    assert run.returncode == 0, run.stderr
    fact = json.loads(run.stdout)["hosts"][host.host]
    assert fact["available"] is False and fact["inventory"] is None
    # python3-pynvml and libnvidia-ml1 are installed, the kernel module is not: NVML says so
    assert "driver" in fact["reason"].lower()
    table = ailab(host.home, "nodes", "facts", "-i", str(host.inventory))
    assert table.returncode == 0 and host.host in table.stdout
