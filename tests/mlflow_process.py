"""Running a real ``mlflow server`` on 127.0.0.1 for integration tests (shared by the services and platform tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

STARTUP_TIMEOUT_S = 240  # 15-30 s on a 2-core machine shared by several test runs


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mlflow_executable() -> Path:
    """The ``mlflow`` command beside this Python; the test is skipped (with the reason) when it is missing."""
    executable = Path(sys.executable).with_name("mlflow")
    if not executable.exists():
        pytest.skip(f"the mlflow server is not installed beside {sys.executable} (uv sync installs it with the dev group)")
    return executable


def clean_environment() -> dict[str, str]:
    """This process's environment without any ``MLFLOW_`` variable, so only what a test sets applies."""
    return {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}


@contextmanager
def running_server(
    arguments: Sequence[str], env: Mapping[str, str], port: int, log_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``mlflow ARGUMENTS`` (listening on ``port``), wait for ``/health``, yield (url, process), stop it."""
    command = [str(mlflow_executable()), *arguments]
    with log_path.open("wb") as log:
        # Its own process group: the server forks workers, and stopping it stops them all.
        process = subprocess.Popen(command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
        yield url, process
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    started = time.monotonic()
    while time.monotonic() - started < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
