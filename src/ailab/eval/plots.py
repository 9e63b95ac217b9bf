"""The plots of a report, as PNG bytes: per-group rates of fairness checks, degradation curves of sweeps, and an overview."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ailab.eval.result import CheckResult, Evaluation

PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#b42318"
BAR_COLOUR = "#3b6ea8"
SMALL_COLOUR = "#c9a227"


def plots_for(evaluation: Evaluation) -> dict[str, bytes]:
    """``plot-<check id>.png`` for each check with a picture worth drawing."""
    found: dict[str, bytes] = {}
    for check in evaluation.checks:
        if check.kind == "fairness" and check.details.get("groups"):
            found[f"plot-{check.id}.png"] = _png(_groups(check))
        elif check.kind == "robustness" and check.details.get("sweep"):
            found[f"plot-{check.id}.png"] = _png(_sweep(check))
    return found


def _figure(width: float = 6.4, height: float = 3.2) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _groups(check: CheckResult) -> Figure:
    rows: list[dict[str, Any]] = check.details["groups"]
    rate = (
        "true_positive_rate"
        if check.metric in ("equal_opportunity_difference", "equalized_odds_difference")
        else "selection_rate"
    )
    figure = _figure()
    axes = figure.subplots()
    labels = [f"{row['group']}\n(n={row['size']})" for row in rows]
    values = [row[rate] if row[rate] is not None else 0.0 for row in rows]
    errors = [[0.0, 0.0] for _ in rows]
    for position, row in enumerate(rows):
        bounds = (row.get("intervals") or {}).get(rate)
        if bounds and row[rate] is not None:
            errors[position] = [max(0.0, row[rate] - bounds[0]), max(0.0, bounds[1] - row[rate])]
    colours = [SMALL_COLOUR if row["small"] else BAR_COLOUR for row in rows]
    axes.bar(labels, values, color=colours, yerr=list(zip(*errors, strict=True)), capsize=6)
    axes.set_ylim(0, 1)
    axes.set_ylabel(rate.replace("_", " "))
    axes.set_title(
        f"{check.id}: {rate.replace('_', ' ')} by {check.details['sensitive_feature']} (yellow: small group)", fontsize=10
    )
    return figure


def _sweep(check: CheckResult) -> Figure:
    points = [point for point in check.details["sweep"] if point.get("drop") is not None]
    figure = _figure()
    axes = figure.subplots()
    axes.plot([p["scale"] for p in points], [p["drop"] for p in points], marker="o", color=BAR_COLOUR, label="measured drop")
    axes.axhline(check.threshold, color=FAIL_COLOUR, linestyle="--", label=f"max_drop {check.threshold}")
    axes.set_xlabel(f"{check.metric.replace('_', ' ')} scale")
    axes.set_ylabel(f"drop of {check.details['metric'].replace('_', ' ')}")
    axes.set_title(f"{check.id}: degradation under {check.metric.replace('_', ' ')}", fontsize=10)
    axes.legend(fontsize=8)
    return figure
