"""Debian 12 and 13 root filesystems the roles converge in, through the ``community.general.chroot``
connection or booted with ``systemd-nspawn`` (``tests/hosts/booted.py``).

Used by the integration tests (``tests/hosts``) and the benchmark (``benchmarks/hosts_bench.py``).

* ``debootstrap --variant=minbase`` builds each once (the smallest Debian: essential packages and
  apt, as minimal cloud and container images are, plus Python for Ansible; the roles bring the
  rest) and it is cached as a tarball under ``.cache/hosts/`` (gitignored); every use extracts a
  pristine copy. The booted flavour adds what a bootable server has before any role runs: systemd
  as init, the SSH server Ansible connects through, and sudo.
* In the chroot flavour a ``policy-rc.d`` that exits 101 keeps package scripts from starting daemons.
* ``/proc``, ``/sys`` and ``/dev`` are mounted for the tools that need them; ``/sys`` and
  ``/proc/sys`` read-only, so nothing done in the chroot can change the host's kernel settings,
  and ``/dev`` as a private bind, so nothing mounted under it reaches the host.
* :func:`stub_toolkit_mirror` writes a signed APT repository inside the rootfs holding a stub
  ``nvidia-container-toolkit`` package, standing in for NVIDIA's repository (or a site's mirror).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Debian 12 (bookworm, the default) and Debian 13 (trixie, stable since August 2025).
SUITE = "bookworm"
SUITES = ("bookworm", "trixie")
DEBIAN_MIRROR = os.environ.get("AILAB_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE_DIR = REPO / ".cache" / "hosts"
# The inventory hosts' python and what the apt module needs; the rest is what the roles install.
INCLUDE = ("python3", "python3-apt")
# A server that boots and that Ansible reaches over SSH as an unprivileged admin with sudo.
BOOTED_INCLUDE = (*INCLUDE, "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "sudo", "iproute2")

POLICY_RC_D = "#!/bin/sh\n# ailab tests: no daemon starts inside the chroot.\nexit 101\n"


def unavailable() -> str | None:
    """Why this machine cannot build or enter the rootfs, or sign its stub mirror; None when it can."""
    if os.name != "posix" or not Path("/proc/self/mountinfo").exists():
        return "the rootfs tests need Linux"
    if os.geteuid() != 0:
        return "the rootfs tests need root (debootstrap, chroot and mount); CI runs them as root"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (make apt installs it, as root)"
    if shutil.which("gpg") is None:
        return "gpg is not installed (make apt installs gnupg)"
    return _cannot_mount()


def _cannot_mount() -> str | None:
    """Root in a container without CAP_SYS_ADMIN cannot mount /proc for the chroot."""
    with tempfile.TemporaryDirectory() as probe:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", probe], capture_output=True, text=True)
        if mounted.returncode != 0:
            return f"cannot mount here ({mounted.stderr.strip()}); the rootfs tests need CAP_SYS_ADMIN (a privileged container)"
        subprocess.run(["umount", probe], check=True)
    return None


def cached_tarball(suite: str = SUITE, *, booted: bool = False) -> Path:
    """The rootfs tarball, built with debootstrap the first time (under a lock, for parallel workers)."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tarball = CACHE_DIR / f"debian-{suite}-minbase{'-booted' if booted else ''}-rootfs.tar"
    with (CACHE_DIR / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            _build(tarball, suite, booted)
    return tarball


def _build(tarball: Path, suite: str, booted: bool) -> None:
    build = Path(tempfile.mkdtemp(prefix="rootfs-build-", dir=CACHE_DIR))
    try:
        target = build / "rootfs"
        include = BOOTED_INCLUDE if booted else INCLUDE
        built = subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=" + ",".join(include), suite, str(target), DEBIAN_MIRROR],
            capture_output=True,
            text=True,
        )
        if built.returncode != 0:
            raise RuntimeError(f"debootstrap {suite} failed: {built.stdout[-2000:]}{built.stderr[-2000:]}")
        if not booted:
            policy = target / "usr/sbin/policy-rc.d"
            policy.write_text(POLICY_RC_D)
            policy.chmod(0o755)
        # The downloaded .debs are not part of a server; the tarball is smaller without them.
        subprocess.run(["chroot", str(target), "apt-get", "clean"], check=True, capture_output=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(target), "--numeric-owner", "-cf", str(partial), "."], check=True)
        partial.replace(tarball)
    finally:
        shutil.rmtree(build, ignore_errors=True)


@dataclass
class Rootfs:
    """A pristine copy of the rootfs, mounted and ready for the chroot connection, until :meth:`close`."""

    path: Path
    mounts: list[Path]

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the chroot (as root), output captured."""
        return subprocess.run(["chroot", str(self.path), *argv], check=check, capture_output=True, text=True)

    def file(self, path: str) -> Path:
        """A path inside the rootfs, seen from the host."""
        return self.path / path.lstrip("/")

    def close(self) -> None:
        for mount in reversed(self.mounts):
            if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "--lazy", str(mount)], check=True)
        self.mounts.clear()
        if not any(Path(line.split()[4]).is_relative_to(self.path) for line in _mountinfo()):
            shutil.rmtree(self.path.parent, ignore_errors=True)


def _mountinfo() -> list[str]:
    return Path("/proc/self/mountinfo").read_text().splitlines()


@contextlib.contextmanager
def pristine_rootfs(suite: str = SUITE, *, booted: bool = False) -> Iterator[Rootfs]:
    """Extract the cached rootfs into a new directory, mount what the chroot needs, clean up after.

    ``booted``: the bootable flavour, with nothing mounted (``systemd-nspawn`` mounts its own).
    """
    tarball = cached_tarball(suite, booted=booted)
    path = Path(tempfile.mkdtemp(prefix="ailab-rootfs-")) / "rootfs"
    path.mkdir()
    rootfs = Rootfs(path, [])
    try:
        subprocess.run(["tar", "-C", str(path), "--numeric-owner", "-xpf", str(tarball)], check=True)
        if booted:
            yield rootfs
            return
        proc, proc_sys, sys, dev = (str(path / where) for where in ("proc", "proc/sys", "sys", "dev"))
        _mount(rootfs, proc, "-t", "proc", "proc", proc)
        _mount(rootfs, proc_sys, "--bind", proc_sys, proc_sys)
        _mount(rootfs, None, "-o", "remount,bind,ro", proc_sys)
        _mount(rootfs, sys, "-t", "sysfs", "-o", "ro", "sysfs", sys)
        _mount(rootfs, dev, "--bind", "/dev", dev)
        _mount(rootfs, None, "--make-private", dev)
        yield rootfs
    finally:
        rootfs.close()


def _mount(rootfs: Rootfs, mounted: str | None, *args: str) -> None:
    """``mount *args``; ``mounted`` is the new mount point to undo at close (None for remounts)."""
    subprocess.run(["mount", *args], check=True, capture_output=True)
    if mounted:
        rootfs.mounts.append(Path(mounted))


@dataclass(frozen=True)
class Mirror:
    """The stub toolkit repository as the roles see it, from inside the chroot."""

    repo_url: str
    key_url: str


def stub_toolkit_mirror(rootfs: Rootfs, gnupg_home: Path) -> Mirror:
    """A signed flat APT repository at /srv/ailab-test-mirror with a stub ``nvidia-container-toolkit``.

    Laid out like NVIDIA's (``.../stable/deb/$(ARCH)`` and ``.../gpgkey``), so the role's repository
    handling is exercised as on an air-gapped site's mirror; the package only puts two scripts
    named ``nvidia-ctk`` and ``nvidia-container-runtime`` in /usr/bin.
    """
    base = rootfs.file("/srv/ailab-test-mirror/libnvidia-container")
    repo = base / "stable/deb/amd64"
    repo.mkdir(parents=True)
    deb = repo / "nvidia-container-toolkit_0.0.0-ailabtest_amd64.deb"
    _stub_package(deb)
    data = deb.read_bytes()
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True).stdout
    packages = control.rstrip("\n") + (
        f"\nFilename: ./{deb.name}\nSize: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n"
    )
    (repo / "Packages").write_text(packages)
    index = (repo / "Packages").read_bytes()
    release = (
        f"Origin: ailab-test\nLabel: ailab-test\nDate: {formatdate(usegmt=True)}\n"
        f"SHA256:\n {hashlib.sha256(index).hexdigest()} {len(index)} Packages\n"
    )
    (repo / "Release").write_text(release)
    (base / "gpgkey").write_bytes(clear_sign(repo / "Release", repo / "InRelease", gnupg_home))
    for path in [base, *base.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # apt reads file:// sources as _apt
    inside = "file:///srv/ailab-test-mirror/libnvidia-container"
    return Mirror(repo_url=f"{inside}/stable/deb/$(ARCH)", key_url=f"{inside}/gpgkey")


def clear_sign(release: Path, signed: Path, gnupg_home: Path) -> bytes:
    """Clear-sign ``release`` into ``signed`` with a new throwaway key in ``gnupg_home``; the key, armored.

    gpg starts a gpg-agent for the secret key, which outlives gpg (and the tests, and the benchmark)
    unless stopped: it is stopped here, once the key is no longer needed, whatever happened.
    """
    gnupg_home.mkdir(mode=0o700, exist_ok=True)
    gpg = ["gpg", "--homedir", str(gnupg_home), "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        subprocess.run(
            [*gpg, "--quick-gen-key", "ailab test mirror <mirror@ailab.invalid>", "ed25519", "sign", "1d"],
            check=True,
            capture_output=True,
        )
        subprocess.run([*gpg, "--clearsign", "--output", str(signed), str(release)], check=True, capture_output=True)
        return subprocess.run([*gpg, "--armor", "--export"], check=True, capture_output=True).stdout
    finally:
        subprocess.run(
            ["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(gnupg_home)}, check=False, capture_output=True
        )


def _stub_package(deb: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text(
            textwrap.dedent(
                """\
                Package: nvidia-container-toolkit
                Version: 0.0.0-ailabtest
                Architecture: amd64
                Maintainer: ailab tests <tests@ailab.invalid>
                Description: stub standing in for NVIDIA's container toolkit in ailab's tests
                """
            )
        )
        (root / "usr/bin").mkdir(parents=True)
        for name in ("nvidia-ctk", "nvidia-container-runtime"):
            script = root / "usr/bin" / name
            script.write_text(f"#!/bin/sh\necho '{name} stub (ailab tests)'\n")
            script.chmod(0o755)
        subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], check=True, capture_output=True)
