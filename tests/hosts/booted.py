"""A Debian rootfs booted with ``systemd-nspawn`` in network namespaces the tests create, reached over SSH.

What a chroot cannot show (services running, the firewall loaded, live kernel parameters,
handlers run for real) is checked against this host.

* Two network namespaces, both created and removed here: ``NODE`` (the container's: nspawn's
  ``--network-namespace-path``) and ``CTL`` (the controller's end). A veth pair joins them; every
  address is inside them. The host's network is never the container's.
* Ansible reaches the container's sshd through ``ProxyCommand=ip netns exec CTL socat``, as the
  unprivileged ``ailab-admin`` with sudo (the hardened sshd refuses root logins).
* The container reaches the Debian mirror (apt, for the roles' packages) only through two
  forwarders the test starts: ``deb.debian.org`` and ``security.debian.org`` resolve (the
  container's /etc/hosts) to addresses in CTL, where ``socat`` relays port 80 over a Unix socket
  to a ``socat`` in the host's namespace that connects to that one mirror name.
* Everything started here (the container, the forwarders, an HTTP server) is stopped, and the
  namespaces removed, when the context exits, failures included.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tests.hosts.chroot_rootfs import Rootfs, pristine_rootfs, unavailable
from tests.hosts.conftest import DUMMY_K3S

ADMIN = "ailab-admin"
SUBNET = "10.231.7"
NODE_ADDRESS = f"{SUBNET}.2"
CTL_ADDRESS = f"{SUBNET}.1"
# The mirror names the container resolves to forwarders in CTL, and their addresses there.
MIRRORS = {"deb.debian.org": f"{SUBNET}.11", "security.debian.org": f"{SUBNET}.12"}
BOOT_TIMEOUT = 120
# The k3s artifacts are served on the container's own loopback, on this port.
ARTIFACT_PORT = 8631
HOST_NAME = "booted-node"
TOOLS = ("systemd-nspawn", "ip", "socat", "ssh", "ssh-keygen")


def booted_unavailable() -> str | None:
    """Why this machine cannot boot the rootfs in its own network namespaces; None when it can."""
    reason = unavailable()
    if reason:
        return reason
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the booted tests need {', '.join(missing)} (make apt installs systemd-container, iproute2, socat, openssh-client)"
        )
    probe = f"ailab-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace here ({made.stderr.strip()})"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


@dataclass
class BootedHost:
    """The running container and how to reach it."""

    rootfs: Rootfs
    node_ns: str
    ctl_ns: str
    key: Path
    work: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return NODE_ADDRESS

    def ssh_options(self) -> list[str]:
        return [
            "-o", f"ProxyCommand=ip netns exec {self.ctl_ns} socat - TCP:%h:%p",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "-i", str(self.key),
        ]  # fmt: skip

    def ssh(self, command: str, *, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``command`` as root on the booted host (sudo through the admin's SSH login)."""
        return subprocess.run(
            ["ssh", *self.ssh_options(), f"{ADMIN}@{self.address}", f"sudo -n sh -c {_quote(command)}"],
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def inventory(self, path: Path, host_vars: dict[str, Any], group_vars: dict[str, Any]) -> Path:
        """The lab's groups with this host in gpu_nodes, entered over SSH."""
        connection = {
            "ansible_host": self.address,
            "ansible_user": ADMIN,
            "ansible_become": True,
            "ansible_ssh_private_key_file": str(self.key),
            # Every booted host is 10.231.7.2 in its own namespace: a ControlPersist master of its own.
            "ansible_control_path_dir": str(self.work / "ssh-control"),
            "ansible_ssh_common_args": " ".join(_quote(option) for option in self.ssh_options()[:-2]),
        }
        inventory = {
            "all": {
                "children": {
                    "servers": {
                        "vars": {**connection, **group_vars},
                        "children": {"gpu_nodes": {"hosts": {HOST_NAME: host_vars}}, "cpu_nodes": {"hosts": {}}},
                    }
                }
            }
        }
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return path

    def serve_on_loopback(self, directory: Path, port: int) -> None:
        """An HTTP server on 127.0.0.1:port inside the container's network namespace (the container's loopback)."""
        self._start(
            ["ip", "netns", "exec", self.node_ns, "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
             str(directory), str(port)]
        )  # fmt: skip
        probe = f"python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}))'"
        _wait_for(lambda: self.ssh(probe, check=False).returncode == 0, 30, "the HTTP server")

    def _start(self, argv: list[str], log: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = log.open("wb") if log else subprocess.DEVNULL
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self.processes.append(process)
        return process


def lab_inventory(host: BootedHost, work: Path) -> Path:
    """The booted host as the onprem stack's h100 pool node, k3s downloaded from its own loopback.

    ``/k3s`` is the stand-in artifact (its sha256 is the inventory's), ``/k3s-tampered`` another file.
    """
    served = work / "served"
    served.mkdir()
    (served / "k3s").write_bytes(DUMMY_K3S)
    (served / "k3s-tampered").write_bytes(DUMMY_K3S + b"echo tampered\n")
    host.serve_on_loopback(served, ARTIFACT_PORT)
    return host.inventory(
        work / "inventory.yml",
        {"k8s_node_gpu_pool": "h100", "k8s_node_mig_config": "all-3g.40gb", "gpu_node_sharing": "mig"},
        {
            "hardening_ip_forwarding": True,
            "hardening_time_sources": [f"server {CTL_ADDRESS} iburst"],
            "k8s_node_artifact_url": f"http://127.0.0.1:{ARTIFACT_PORT}/k3s",
            "k8s_node_artifact_sha256": hashlib.sha256(DUMMY_K3S).hexdigest(),
            # The stand-in binary cannot run a cluster: k3s is installed and enabled, not started.
            "k8s_node_apply_runtime": False,
        },
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _wait_for(ready: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(subprocess.TimeoutExpired):
            if ready():
                return
        time.sleep(1)
    raise TimeoutError(f"{what} was not ready after {seconds:.0f} s")


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


def _prepare(rootfs: Rootfs, key: Path) -> None:
    """The admin account Ansible logs in as (key only, sudo without password), and the mirror names."""
    # Every name the host looks up is here: there is no DNS server (sudo looks its own name up).
    rootfs.file("/etc/hostname").write_text("booted-node\n")
    rootfs.file("/etc/hosts").write_text(
        "127.0.0.1 localhost\n127.0.1.1 booted-node\n::1 localhost ip6-localhost ip6-loopback\n"
        + "".join(f"{address} {name}\n" for name, address in MIRRORS.items())
    )
    subprocess.run(["chroot", str(rootfs.path), "useradd", "--create-home", "--shell", "/bin/bash", ADMIN], check=True)
    ssh_dir = rootfs.file(f"/home/{ADMIN}/.ssh")
    ssh_dir.mkdir(mode=0o700)
    (ssh_dir / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    subprocess.run(["chroot", str(rootfs.path), "chown", "-R", f"{ADMIN}:{ADMIN}", f"/home/{ADMIN}/.ssh"], check=True)
    # The same key for root: only sshd's PermitRootLogin (the role's) can then refuse root.
    root_ssh = rootfs.file("/root/.ssh")
    root_ssh.mkdir(mode=0o700, exist_ok=True)
    (root_ssh / "authorized_keys").write_text(key.with_suffix(".pub").read_text())
    sudoers = rootfs.file(f"/etc/sudoers.d/{ADMIN}")
    sudoers.write_text(f"{ADMIN} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)


@contextlib.contextmanager
def booted_host(suite: str, work: Path) -> Iterator[BootedHost]:
    """Boot a pristine ``suite`` rootfs in new network namespaces; stop everything on exit."""
    tag = f"{os.getpid() % 100000}"
    node_ns, ctl_ns = f"ailab-node-{tag}", f"ailab-ctl-{tag}"
    key = work / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with pristine_rootfs(suite, booted=True) as rootfs:
        host = BootedHost(rootfs, node_ns, ctl_ns, key, work)
        try:
            _prepare(rootfs, key)
            _network(host, tag)
            # In a namespace of its own the container may manage its network as a server does:
            # CAP_NET_ADMIN (nftables) and a writable /proc/sys/net (the net.* sysctls), the rest
            # of /proc/sys staying read-only (the host's kernel).
            nspawn = host._start(
                ["systemd-nspawn", "-D", str(rootfs.path), "--register=no", "--keep-unit", "-b",
                 f"--network-namespace-path=/run/netns/{node_ns}", "--capability=CAP_NET_ADMIN", "--machine=booted-node"],
                log=work / "console.log",
                env={"SYSTEMD_NSPAWN_API_VFS_WRITABLE": "network"},
            )  # fmt: skip
            _wait_for(lambda: _booted(host, nspawn), BOOT_TIMEOUT, "the container's sshd")
            host.ssh("systemctl is-system-running --wait || true", timeout=BOOT_TIMEOUT)
            yield host
        finally:
            _stop(host)


class CannotBootError(RuntimeError):
    """systemd-nspawn exited before the container was up: this machine cannot run containers."""


def _booted(host: BootedHost, nspawn: subprocess.Popen[bytes]) -> bool:
    if nspawn.poll() is not None:
        console = (host.work / "console.log").read_text(errors="replace").strip().splitlines()
        raise CannotBootError(f"systemd-nspawn exited with {nspawn.returncode}: {console[-1] if console else '(no output)'}")
    return host.ssh("true", check=False, timeout=15).returncode == 0


def _network(host: BootedHost, tag: str) -> None:
    """NODE and CTL joined by a veth pair created inside them, and the mirror forwarders."""
    node_if, ctl_if = f"ai{tag}n", f"ai{tag}c"
    for namespace in (host.node_ns, host.ctl_ns):
        _run("ip", "netns", "add", namespace)
    _run("ip", "-n", host.node_ns, "link", "add", node_if, "type", "veth", "peer", "name", ctl_if, "netns", host.ctl_ns)
    for namespace, interface, addresses in (
        (host.node_ns, node_if, [NODE_ADDRESS]),
        (host.ctl_ns, ctl_if, [CTL_ADDRESS, *MIRRORS.values()]),
    ):
        for address in addresses:
            _run("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", interface)
        _run("ip", "-n", namespace, "link", "set", interface, "up")
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
    _run("ip", "-n", host.node_ns, "route", "add", "default", "via", CTL_ADDRESS)
    for name, address in MIRRORS.items():
        socket = host.work / f"{name}.sock"
        host._start(["socat", f"UNIX-LISTEN:{socket},fork,mode=600", f"TCP:{name}:80"])
        _wait_for(socket.exists, 10, f"the {name} forwarder")
        host._start(
            [
                "ip",
                "netns",
                "exec",
                host.ctl_ns,
                "socat",
                f"TCP-LISTEN:80,bind={address},fork,reuseaddr",
                f"UNIX-CONNECT:{socket}",
            ]
        )


def _stop(host: BootedHost) -> None:
    """nspawn turns SIGTERM into an orderly shutdown of the container; the rest are stopped outright."""
    for process in reversed(host.processes):
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    # What is left in the namespaces is the test's too: the ProxyCommand of an ssh ControlPersist
    # master that Ansible left behind, say.
    for namespace in (host.node_ns, host.ctl_ns):
        left = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
