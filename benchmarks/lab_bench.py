"""Targets of the foundation issue: ``ailab --help`` < 0.5 s, ``ailab lab plan --stack aws-eu`` < 10 s and < 500 MiB.

Run: ``.venv/bin/python benchmarks/lab_bench.py`` (prints a Markdown table for RESULTS.md).
"""

from __future__ import annotations

import sys

from harness import TABLE_HEADER, VENV_BIN, machine, measure

TARGETS = {"ailab --help": (0.5, None), "ailab lab plan --stack aws-eu --no-tree": (10.0, 500.0)}


def main() -> int:
    ailab = str(VENV_BIN / "ailab")
    results = [
        measure([ailab, "--help"], runs=10),
        measure([ailab, "lab", "plan", "--stack", "aws-eu", "--no-tree"], runs=5),
        measure([ailab, "lab", "plan", "--stack", "onprem", "--no-tree"], runs=5),
    ]
    print(f"Machine: {machine()}\n\n{TABLE_HEADER}")
    failed = False
    for result in results:
        print(result.row())
        wall, rss = TARGETS.get(result.command, (None, None))
        if (wall is not None and result.median_s > wall) or (rss is not None and result.peak_rss_mib > rss):
            print(f"TARGET MISSED: {result.command}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
