"""Targets of the policy issue, and the comparison with checkov.

1. 10,000 generated Kubernetes objects (``policy_corpus.py``) checked with every rule by
   ``ailab policy check``, start-up included: median wall under 2 s, peak RSS under 1 GiB, as a
   directory of YAML files and as one ``kind: List`` JSON file.
2. 2,000 objects through ailab and through checkov's Kubernetes framework: wall time, and the
   findings of equivalent checks side by side; ailab at least 20 times faster. checkov runs from
   its own throwaway environment, never the project's: create it with ``--setup-checkov``
   (``benchmarks/.venv-checkov``, git-ignored); without it that part is skipped.

Run: ``.venv/bin/python benchmarks/policy_bench.py [--setup-checkov] [--runs N]``; prints Markdown for RESULTS.md.
Child processes run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as on a user's machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from harness import REPO, TABLE_HEADER, VENV_BIN, Measurement, machine, measure
from policy_corpus import write

OUT = REPO / "benchmarks" / "out" / "policy"
CHECKOV_VENV = REPO / "benchmarks" / ".venv-checkov"
CHECKOV = CHECKOV_VENV / "bin" / "checkov"
WALL_TARGET_S, RSS_TARGET_MIB, SPEEDUP_TARGET = 2.0, 1024.0, 20.0

# checkov checks and the ailab rules that decide the same question; where one ailab rule covers several
# checkov checks, the evidence path its finding must end with to count for that check.
EQUIVALENT: dict[str, tuple[str, str | None]] = {
    "CKV_K8S_16": ("AILAB-K8S-002", None),  # privileged containers
    "CKV_K8S_20": ("AILAB-K8S-003", None),  # allowPrivilegeEscalation
    "CKV_K8S_37": ("AILAB-K8S-004", None),  # capabilities (ailab: drop ALL)
    "CKV_K8S_28": ("AILAB-K8S-004", None),  # NET_RAW (ailab: drop ALL)
    "CKV_K8S_22": ("AILAB-K8S-005", None),  # read-only root filesystem
    "CKV_K8S_23": ("AILAB-K8S-001", None),  # root containers
    "CKV_K8S_31": ("AILAB-K8S-006", None),  # seccomp
    "CKV_K8S_17": ("AILAB-K8S-007", "hostPID"),
    "CKV_K8S_18": ("AILAB-K8S-007", "hostIPC"),
    "CKV_K8S_19": ("AILAB-K8S-007", "hostNetwork"),
    "CKV_K8S_26": ("AILAB-K8S-009", None),  # hostPort
    "CKV_K8S_10": ("AILAB-GOV-001", "requests.cpu"),
    "CKV_K8S_11": ("AILAB-GOV-001", "limits.cpu"),
    "CKV_K8S_12": ("AILAB-GOV-001", "requests.memory"),
    "CKV_K8S_13": ("AILAB-GOV-001", "limits.memory"),
    "CKV_K8S_14": ("AILAB-SUP-001", None),  # image tag pinned
    "CKV_K8S_38": ("AILAB-K8S-010", None),  # service account token automount
    "CKV_K8S_21": ("AILAB-K8S-012", None),  # default namespace
    "CKV_K8S_49": ("AILAB-RBAC-001", None),  # wildcards in roles
    "CKV_K8S_157": ("AILAB-RBAC-002", None),  # bind
    "CKV_K8S_158": ("AILAB-RBAC-002", None),  # escalate
    "CKV2_K8S_5": ("AILAB-RBAC-004", None),  # reading every Secret
}


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def findings_ok(argv: list[str]) -> list[str]:
    """``argv`` through ``sh`` so that exit 1 (findings, the expected outcome) counts as success."""
    return ["/bin/sh", "-c", '"$@" >/dev/null; test $? -le 1', "sh", *argv]


def timed(label: str, argv: list[str], runs: int) -> tuple[Measurement, float]:
    """The harness's wall/RSS measurement and the mean CPU seconds (user + system) of a run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = measure(findings_ok(argv), runs=runs, warmup=1, env=environment())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / (runs + 1)
    return replace(result, command=label), cpu


def check_argv(path: Path, output: Path, fmt: str = "sarif") -> list[str]:
    return [
        str(VENV_BIN / "ailab"),
        "policy",
        "check",
        "--manifests",
        str(path),
        "--format",
        fmt,
        "--output",
        str(output),
        "--fail-on",
        "critical",
    ]


def ten_thousand(runs: int) -> bool:
    directory, listing = write(10_000, OUT / "k8s-10000")
    rows = []
    ok = True
    for label, path in (("10,000 objects, 619 YAML files", directory), ("10,000 objects, one JSON List", listing)):
        result, cpu = timed(f"ailab policy check ({label}) → SARIF", check_argv(path, OUT / "reports"), runs)
        rows.append(f"{result.row()[:-2]} | {cpu:.2f} |")
        ok &= result.median_s < WALL_TARGET_S and result.peak_rss_mib < RSS_TARGET_MIB
    print(f"Machine: {machine()}; load average before: {os.getloadavg()[0]:.1f}\n")
    print(
        TABLE_HEADER.replace("peak RSS MiB |", "peak RSS MiB | CPU s |").replace(
            "|---|---|---|---|---|---|", "|---|---|---|---|---|---|---|"
        )
    )
    print("\n".join(rows))
    return ok


def setup_checkov() -> None:
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    subprocess.run([str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", "checkov"], check=True)


def versus_checkov(runs: int) -> bool:
    directory, _ = write(2_000, OUT / "k8s-2000")
    if not CHECKOV.exists():
        print(f"\ncheckov comparison skipped: {CHECKOV} is missing; run with --setup-checkov")
        return True
    # Not --quiet: the passed checks tell which objects checkov evaluated at all.
    checkov_argv = [str(CHECKOV), "--compact", "--framework", "kubernetes", "-d", str(directory), "-o", "json"]
    ours, our_cpu = timed("ailab policy check (2,000 objects) → JSON", check_argv(directory, OUT / "reports", "json"), runs)
    theirs_walls = []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(max(1, runs // 2)):
        start = time.perf_counter()
        completed = subprocess.run(checkov_argv, cwd=REPO, capture_output=True, text=True, check=False)
        theirs_walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    checkov_cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / len(theirs_walls)
    checkov_wall = statistics.median(theirs_walls)
    speedup = checkov_wall / ours.median_s
    ailab_report = json.loads((OUT / "reports" / "policy-report.json").read_text())  # written by the timed runs
    print(
        f"\n| tool | runs | median wall s | CPU s |\n|---|---|---|---|\n| ailab | {ours.runs} | {ours.median_s:.2f} | {our_cpu:.2f} |"
    )
    print(f"| checkov {checkov_version()} | {len(theirs_walls)} | {checkov_wall:.1f} | {checkov_cpu:.1f} |")
    print(f"\nailab is {speedup:.0f}x faster (wall), {checkov_cpu / our_cpu:.0f}x (CPU).\n")
    compare(ailab_report, json.loads(completed.stdout))
    return speedup >= SPEEDUP_TARGET


def checkov_version() -> str:
    return subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _ailab_key(finding: dict) -> tuple[str, str, str] | None:
    resource = finding.get("resource") or {}
    urn = resource.get("urn") or ""
    if not urn.startswith("urn:ailab:manifest::"):
        return None
    kind = resource["type"].rsplit(":", 1)[-1]
    qualified = urn.rsplit("::", 1)[-1]
    namespace, _, name = qualified.rpartition("/")
    return kind, namespace or "default", name


def _checkov_key(result: dict) -> tuple[str, str, str]:
    kind, namespace, name = [*result["resource"].split(".", 2), "", ""][:3]
    return kind, namespace, name


def compare(ailab_report: dict, checkov_report: dict | list) -> None:
    """Per equivalent check: resources both flag, those only one flags, and ailab's findings on objects checkov skips."""
    reports = checkov_report if isinstance(checkov_report, list) else [checkov_report]
    theirs: dict[str, set] = {}
    passed: dict[str, set] = {}
    for report in reports:
        for result in report.get("results", {}).get("failed_checks", []):
            theirs.setdefault(result["check_id"], set()).add(_checkov_key(result))
        for result in report.get("results", {}).get("passed_checks", []):
            passed.setdefault(result["check_id"], set()).add(_checkov_key(result))
    ours: dict[str, list[tuple[tuple[str, str, str], list[str]]]] = {}
    for finding in ailab_report["findings"]:
        key = _ailab_key(finding)
        if key is not None and finding["status"] != "error":
            ours.setdefault(finding["rule"], []).append((key, [item["path"] for item in finding["evidence"]]))
    print(
        "| checkov check | ailab rule (evidence) | both | only checkov | only ailab (checkov passed it) | ailab, not checked by checkov "
        "| kinds: only checkov / only ailab |\n|---|---|---|---|---|---|---|"
    )
    for check_id, (rule_id, path_suffix) in EQUIVALENT.items():
        flagged_by_them = theirs.get(check_id, set())
        checked_by_them = flagged_by_them | passed.get(check_id, set())
        flagged_by_us = {
            key
            for key, paths in ours.get(rule_id, [])
            if path_suffix is None or any(path.endswith(path_suffix) for path in paths)
        }
        only_them = flagged_by_them - flagged_by_us
        only_us = (flagged_by_us & checked_by_them) - flagged_by_them
        unchecked = flagged_by_us - checked_by_them
        print(
            f"| {check_id} | {rule_id}{f' ({path_suffix})' if path_suffix else ''} | {len(flagged_by_them & flagged_by_us)} | {len(only_them)} | {len(only_us)} "
            f"| {len(unchecked)} | {_kinds(only_them)} / {_kinds(only_us | unchecked)} |"
        )


def _kinds(keys: set) -> str:
    return ", ".join(f"{kind} {count}" for kind, count in Counter(key[0] for key in keys).most_common(3)) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-checkov", action="store_true", help=f"create {CHECKOV_VENV} with checkov first")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-checkov", action="store_true", help="only the 10,000-object targets")
    parser.add_argument("--skip-10k", action="store_true", help="only the checkov comparison")
    args = parser.parse_args()
    if args.setup_checkov:
        setup_checkov()
    ok = args.skip_10k or ten_thousand(args.runs)
    if not args.skip_checkov:
        ok &= versus_checkov(args.runs)
    if not ok:
        print("TARGET MISSED", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
