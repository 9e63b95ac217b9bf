"""Targets of the sandbox issue: ``ailab sandbox plan`` for one sandbox under 3 s wall, and 50
sandboxes planned (and gated) in one process under 30 s.

Run: ``.venv/bin/python benchmarks/sandbox_bench.py`` (prints a Markdown table for RESULTS.md).

The children run with a private data dir (each plan appends to its audit log) and with bytecode
caching on, in a cache of this run's own (``PYTHONPYCACHEPREFIX``): a normal installation has
``.pyc`` files, while this development environment sets ``PYTHONDONTWRITEBYTECODE``, under which
every start compiles pulumi_kubernetes from source (about 3 s more).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time

from harness import TABLE_HEADER, VENV_BIN, Measurement, machine, measure, run_once

TARGETS = {"one": 3.0, "fifty": 30.0}
ONE = ["sandbox", "plan", "2025-017-chatbot", "--team", "alice,bob", "--profile", "gpu-mig", "--stack", "aws-eu", "--no-tree"]
SANDBOXES = 50


def plan_fifty() -> None:
    """The in-process half: 50 sandboxes across both example labs and all their profiles, each planned and gated."""
    from ailab.sandbox.gate import check
    from ailab.sandbox.program import plan_sandbox
    from ailab.sandbox.request import build_spec
    from ailab.spec.stackfile import find_project, load_stack_spec

    project = find_project()
    labs = {stack: load_stack_spec(stack, project)[0] for stack in ("aws-eu", "onprem")}
    cases = [(stack, profile) for stack, lab in labs.items() for profile in lab.sandbox.profiles]
    start = time.perf_counter()
    for index in range(SANDBOXES):
        stack, profile = cases[index % len(cases)]
        spec = build_spec(
            labs[stack],
            audit_id=f"bench-{index:03d}",
            lab_stack=stack,
            team="alice,bob",
            profile=profile,
            requested_by="bench@host",
        )
        result = check(plan_sandbox(spec, labs[stack]), labs[stack])
        if not result.passed:
            raise SystemExit(f"bench-{index:03d} ({stack}/{profile}) blocked by the gate")
    print(f"{SANDBOXES} sandboxes planned and gated in {time.perf_counter() - start:.1f} s (imports excluded)", file=sys.stderr)


def measure_cpu(argv: list[str], runs: int, env: dict[str, str]) -> tuple[Measurement, float]:
    """:func:`harness.measure` and the children's mean CPU seconds (user + system) per run, which the
    machine's load does not inflate the way it inflates wall time on a shared 2-core machine."""
    run_once(argv, env)  # warm-up (bytecode cache, page cache), outside the CPU count
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = measure(argv, runs=runs, warmup=0, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) / runs


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ailab-bench-") as scratch:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(AILAB_HOME=os.path.join(scratch, "home"), PYTHONPYCACHEPREFIX=os.path.join(scratch, "pycache"))
        one, one_cpu = measure_cpu([str(VENV_BIN / "ailab"), *ONE], runs=5, env=env)
        fifty, fifty_cpu = measure_cpu([sys.executable, "benchmarks/sandbox_bench.py", "--fifty"], runs=3, env=env)
    header, rule = TABLE_HEADER.splitlines()
    print(f"Machine: {machine()}, load average {os.getloadavg()[0]:.1f}\n\n{header} CPU s per run |\n{rule}---|")
    failed = False
    for key, result, cpu in (("one", one, one_cpu), ("fifty", fifty, fifty_cpu)):
        print(f"{result.row()} {cpu:.2f} |")
        if result.median_s > TARGETS[key]:
            print(f"TARGET MISSED: {result.command} (median {result.median_s:.2f} s > {TARGETS[key]} s)", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--fifty"]:
        plan_fifty()
        sys.exit(0)
    sys.exit(main())
