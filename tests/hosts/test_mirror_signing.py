"""The stub mirror's signing leaves no gpg-agent behind (one per test session used to outlive pytest)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from tests.hosts.chroot_rootfs import clear_sign

pytestmark = pytest.mark.skipif(
    shutil.which("gpg") is None or shutil.which("gpgconf") is None, reason="gpg is not installed (make apt installs gnupg)"
)


def _agents_of(home: Path) -> list[str]:
    """The command lines of running processes that name ``home`` (gpg-agent runs with --homedir HOME)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:  # the process ended meanwhile
            continue
        if str(home).encode() in args and any(arg.endswith(b"gpg-agent") for arg in args):
            found.append(" ".join(arg.decode(errors="replace") for arg in args))
    return found


def test_signing_stops_its_gpg_agent(tmp_path: Path) -> None:
    release = tmp_path / "Release"
    release.write_text("Origin: ailab-test\n")
    home = tmp_path / "gnupg"

    key = clear_sign(release, tmp_path / "InRelease", home)

    assert key.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert (tmp_path / "InRelease").read_text().startswith("-----BEGIN PGP SIGNED MESSAGE-----")
    deadline = time.monotonic() + 5
    while _agents_of(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _agents_of(home) == []
