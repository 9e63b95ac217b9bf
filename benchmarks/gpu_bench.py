"""Target of the GPU issue: ``ailab gpu inventory --json`` under 1 s wall on one GPU, start-up included.

Without a GPU machine two paths can be timed, both labelled as what they are:

* ``no driver``: the real NVML on a CPU host, which fails at ``nvmlInit`` (exit 3 is the expected
  outcome, so the command runs under ``sh -c '...; test $? -eq 3'``);
* ``faked NVML``: the real pynvml module with its functions replaced by the unit tests' fake
  (``tests/gpu/fake_nvml.py``, one H100), put in front of the real one through ``PYTHONPATH``. It
  measures ailab's own start-up, imports and rendering, not the driver's answers.

The figure on a real GPU is recorded when the benchmark runs on a GPU machine (the ``real NVML``
row appears only where NVML works).

Run: ``.venv/bin/python benchmarks/gpu_bench.py`` (prints a Markdown table for RESULTS.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from harness import REPO, TABLE_HEADER, VENV_BIN, Measurement, machine, measure

sys.path.insert(0, str(REPO))
from tests.nvml_state import nvml_unavailable

TARGET_S = 1.0
FAKES = REPO / "tests" / "gpu"

# Imported as `pynvml`: loads the real module, fakes its functions, and leaves the real module
# (now faked) in sys.modules, which is what the import statement then returns.
SHIM = f"""
import importlib.machinery, importlib.util, os, sys
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.machinery.PathFinder.find_spec("pynvml", [p for p in sys.path if os.path.abspath(p or os.curdir) != here])
real = importlib.util.module_from_spec(spec)
sys.modules["pynvml"] = real
spec.loader.exec_module(real)
sys.path.insert(0, {str(FAKES)!r})
import fake_nvml
fake_nvml.FakeNvml([fake_nvml.h100()]).install(setattr)
"""


def labelled(result: Measurement, label: str) -> Measurement:
    return Measurement(label, result.runs, result.median_s, result.min_s, result.max_s, result.peak_rss_mib)


def main() -> int:
    ailab = str(VENV_BIN / "ailab")
    command = "ailab gpu inventory --json"
    results: list[tuple[Measurement, bool]] = []
    if nvml_unavailable() is None:
        results.append((labelled(measure([ailab, "gpu", "inventory", "--json"], runs=10), f"{command} (real NVML)"), True))
    else:
        no_driver = measure(["/bin/sh", "-c", f"{ailab} gpu inventory --json 2>/dev/null; test $? -eq 3"], runs=10)
        results.append((labelled(no_driver, f"{command} (no driver: exit 3)"), False))
    with tempfile.TemporaryDirectory() as shim_dir:
        Path(shim_dir, "pynvml.py").write_text(SHIM, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": shim_dir}
        faked = measure([ailab, "gpu", "inventory", "--json"], runs=10, env=env)
        results.append((labelled(faked, f"{command} (faked NVML, one H100)"), True))
    print(f"Machine: {machine()}\n\n{TABLE_HEADER}")
    missed = False
    for result, judged in results:
        print(result.row())
        if judged and result.median_s > TARGET_S:
            print(f"TARGET MISSED: {result.command}", file=sys.stderr)
            missed = True
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
