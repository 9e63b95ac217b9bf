"""The on-premises database's password rotation, run for real: the postStart command against a real PostgreSQL.

POSTGRES_PASSWORD reaches a database only at initdb; after that a rotated password must be set on the
running server, or MLflow (rolled onto the new password by the config checksum) can no longer log in.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from ailab.infra.k8s.postgres import DATABASE, USER, apply_password_command

pytestmark = pytest.mark.integration

BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _as_postgres(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], text=True, capture_output=True, timeout=60, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server():
    if not BIN or os.geteuid() != 0:
        pytest.skip("needs the PostgreSQL server binaries (make apt installs postgresql) and root to run it as postgres")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user (the postgresql package creates it)")
    bin_dir, port = BIN[-1], _free_port()
    # Not under pytest's tmp_path, whose parents only root may enter.
    root = Path(tempfile.mkdtemp(prefix="ailab-pg-"))
    (root / "sock").mkdir()
    (root / "pw").write_text("old-password-0123456789\n")
    shutil.chown(root, owner.pw_uid, owner.pw_gid)
    for child in root.iterdir():
        shutil.chown(child, owner.pw_uid, owner.pw_gid)
    # As the official image initialises: the application user owns the cluster, trust on the local socket.
    initdb = _as_postgres(
        [str(bin_dir / "initdb"), "-D", str(root / "data"), f"--username={USER}", "--auth-local=trust",
         "--auth-host=scram-sha-256", f"--pwfile={root / 'pw'}"]
    )  # fmt: skip
    assert initdb.returncode == 0, initdb.stderr
    options = f"-k {root / 'sock'} -p {port} -c listen_addresses=127.0.0.1"
    started = _as_postgres(
        [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", str(root / "log"), "-w", "start"]
    )
    assert started.returncode == 0, started.stderr
    try:
        created = _as_postgres([str(bin_dir / "psql"), f"--host={root / 'sock'}", f"--port={port}", f"--username={USER}",
                                "--dbname=postgres", "-c", f"CREATE DATABASE {DATABASE}"])  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield bin_dir, root, port
    finally:
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _login(bin_dir: Path, port: int, password: str) -> bool:
    result = subprocess.run(
        [
            str(bin_dir / "psql"),
            "--host=127.0.0.1",
            f"--port={port}",
            f"--username={USER}",
            f"--dbname={DATABASE}",
            "-c",
            "SELECT 1",
        ],
        env={**os.environ, "PGPASSWORD": password},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.returncode == 0


def test_the_rotated_password_is_applied_to_the_running_database(server):
    bin_dir, root, port = server
    assert _login(bin_dir, port, "old-password-0123456789")
    log = root / "hook.log"
    shell, flag, script = apply_password_command(socket_dir=str(root / "sock"), log=str(log))
    # The image runs the hook with PGPORT unset; this test's server listens elsewhere.
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PGPORT": str(port), "POSTGRES_PASSWORD": "new-password-after-rotation"}
    hook = _as_postgres(["env", *(f"{key}={value}" for key, value in env.items()), shell, flag, script])
    assert hook.returncode == 0, hook.stderr
    said = log.read_text() if log.exists() else ""
    assert "new-password-after-rotation" not in said
    assert "could not apply" not in said, said
    assert _login(bin_dir, port, "new-password-after-rotation")
    assert not _login(bin_dir, port, "old-password-0123456789")
