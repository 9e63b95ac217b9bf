"""Timing whole commands: wall time and peak memory of a child process, median of several runs.

``os.wait4`` gives the rusage of exactly that child (``ru_maxrss`` in KiB on Linux), so no
external ``time`` binary is needed.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = REPO / ".venv" / "bin"


@dataclass(frozen=True)
class Measurement:
    command: str
    runs: int
    median_s: float
    min_s: float
    max_s: float
    peak_rss_mib: float

    def row(self) -> str:
        return f"| `{self.command}` | {self.runs} | {self.median_s:.3f} | {self.min_s:.3f} | {self.max_s:.3f} | {self.peak_rss_mib:.0f} |"


def run_once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run; a failing command is an error."""
    # stderr goes to a file, not a pipe: waiting for a child that fills a pipe nobody reads would hang.
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"{' '.join(argv)} exited {process.returncode}: {message}")
    return elapsed, usage.ru_maxrss / 1024


def measure(argv: list[str], runs: int = 5, warmup: int = 1, env: dict[str, str] | None = None) -> Measurement:
    """Median wall time over ``runs`` after ``warmup`` untimed runs (page cache, .pyc files)."""
    for _ in range(warmup):
        run_once(argv, env)
    samples = [run_once(argv, env) for _ in range(runs)]
    walls = [wall for wall, _ in samples]
    label = " ".join(Path(argv[0]).name if i == 0 else part for i, part in enumerate(argv))
    return Measurement(label, runs, statistics.median(walls), min(walls), max(walls), max(rss for _, rss in samples))


def machine() -> str:
    cpus = os.cpu_count()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {cpus} cores, {memory:.0f} GiB, Python {platform.python_version()}, {date.today()}"


TABLE_HEADER = "| command | runs | median s | min s | max s | peak RSS MiB |\n|---|---|---|---|---|---|"
