"""The checks reference (``docs/eval-checks.md``), generated from the catalogue so it cannot drift.

Regenerate with ``ailab eval checks --markdown docs/eval-checks.md``; a test fails when the
committed file differs from what the catalogue produces.
"""

from __future__ import annotations

from ailab.eval.catalogue import CHECK_TYPES, CheckType, Family

HEADER = """# Evaluation checks reference

Generated from the check catalogue by `ailab eval checks --markdown docs/eval-checks.md`;
do not edit by hand. `ailab eval explain CHECK` prints one check. The plan format, the run's
`--json` document and the exit codes are described in [eval.md](eval.md).
"""

_THRESHOLD = {
    Family.ROBUSTNESS: "`max_drop` (sweeps) or `max_success_rate` (evasion)",
    Family.PRIVACY: "`max_advantage`",
}
_PLAN_KEY = {
    Family.PERFORMANCE: "metric",
    Family.FAIRNESS: "metric",
    Family.ROBUSTNESS: "perturbation",
    Family.PRIVACY: "attack",
    Family.ENDPOINT: "kind",
}


def threshold_text(entry: CheckType) -> str:
    return _THRESHOLD.get(entry.family, f"`{entry.threshold_key}`")


def checks_markdown() -> str:
    lines = [
        HEADER,
        f"{len(CHECK_TYPES)} checks.",
        "",
        "| check | kind | plan key | threshold | title |",
        "|---|---|---|---|---|",
    ]
    for entry in CHECK_TYPES:
        lines.append(
            f"| [{entry.id}](#{entry.id}) | {entry.family} | `{_PLAN_KEY[entry.family]}: {entry.id}` | {threshold_text(entry)} | {entry.title} |"
        )
    for entry in CHECK_TYPES:
        lines += ["", f"## {entry.id}", "", f"**{entry.title}** ({entry.family}; {entry.applies_to})", ""]
        lines += [f"**What it measures.** {entry.measures}", "", f"**Why it matters.** {entry.why}", ""]
        lines += [f"**Threshold.** {threshold_text(entry)}; the value is better when {entry.direction}.", "", "**Serves.**", ""]
        lines += [f"- {article}" for article in entry.articles]
        lines += ["", f"**Risk probed.** OWASP Top 10 for LLM Applications: {entry.owasp}"] if entry.owasp else []
    return "\n".join(lines) + "\n"
