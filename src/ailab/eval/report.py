"""The evaluation report for a head of unit: the overall verdict first, then one section per check.

HTML is self-contained (plots embedded as data URIs, a print stylesheet that shows everything);
Markdown carries the same text and refers to the plots as files beside it; JSON is the result itself.
"""

from __future__ import annotations

import base64
import json
import re
from html import escape
from typing import Any

from ailab.errors import BadInputError
from ailab.eval.catalogue import BY_ID, CheckType
from ailab.eval.result import CheckResult, Evaluation

FORMATS = ("html", "md", "json")
_KEY_WORDS = {
    "min": "at least",
    "max": "at most",
    "max_drop": "a drop of at most",
    "max_success_rate": "an attack success rate of at most",
    "max_advantage": "an attacker advantage of at most",
    "max_rate": "a rate of at most",
}


def parse_formats(text: str) -> list[str]:
    wanted = [item.strip().lower() for item in text.split(",") if item.strip()]
    unknown = [item for item in wanted if item not in FORMATS]
    if unknown or not wanted:
        raise BadInputError(f"--format {text}: choose from {', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(wanted))


def _number(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3f}"


def _measured(check: CheckResult, confidence: float) -> str:
    text = _number(check.value)
    if check.interval is not None and check.value is not None:
        text += f" ({confidence:.0%} interval {check.interval[0]:.3f} to {check.interval[1]:.3f})"
    return text


def _threshold(check: CheckResult) -> str:
    return f"{_KEY_WORDS.get(check.threshold_key, check.threshold_key)} {check.threshold:g}"


def _entry(check: CheckResult) -> CheckType | None:
    """The catalogue entry: the check's metric, or its kind for endpoint checks (whose metric is a rate or a QA score)."""
    return BY_ID.get(check.metric) or BY_ID.get(check.kind)


def _title(check: CheckResult) -> str:
    entry = _entry(check)
    return f"{check.id} — {entry.title if entry else check.metric}"


def _subject(evaluation: Evaluation) -> str:
    """What was evaluated, in one line: the model, or the endpoint."""
    endpoint = evaluation.endpoint
    if endpoint is not None:
        return f"endpoint {endpoint.url} ({endpoint.api}{', model ' + endpoint.model if endpoint.model else ''})"
    return f"model {evaluation.fingerprints.model_uri}"


def _facts(evaluation: Evaluation) -> list[tuple[str, str]]:
    fp = evaluation.fingerprints
    facts = [("Plan", f"{evaluation.plan_name} (SHA-256 {fp.plan_sha256})"), ("Audit", evaluation.audit)]
    endpoint = evaluation.endpoint
    if endpoint is not None:
        facts.append(("Endpoint", _subject(evaluation).removeprefix("endpoint ")))
        facts += [(f"Probes of {s.check}", f"{s.label} (SHA-256 {s.sha256})") for s in endpoint.sources]
        facts.append(("Requests", f"{endpoint.requests:,} sent for {evaluation.rows:,} probes (retries included)"))
    else:
        facts += [
            ("Model", f"{fp.model_uri} (version {fp.model_version or 'unknown'}, {fp.model_flavor})"),
            ("Evaluation data", f"{evaluation.rows:,} rows (SHA-256 {fp.dataset_sha256})"),
            ("Training data", f"SHA-256 {fp.train_sha256}" if fp.train_sha256 else "not used"),
            (
                "Model inputs",
                ", ".join(evaluation.model_inputs) + ("" if evaluation.inputs_from_signature else " (no signature)"),
            ),
        ]
    # An endpoint run resamples only for its QA means; its rates have Wilson intervals.
    resampled = not endpoint or any(check.kind == "qa_quality" for check in evaluation.checks)
    resampling = f"; {evaluation.bootstrap_samples} bootstrap resamples" if resampled else ""
    facts += [
        ("Software", f"ailab {fp.ailab_version}, uv.lock SHA-256 {fp.lock_sha256 or 'unknown'}"),
        ("Run", f"{evaluation.started} to {evaluation.finished}{resampling}"),
    ]
    return facts


def _about(entry: CheckType) -> list[tuple[str, str]]:
    """What a check's section says of its catalogue entry."""
    facts = [("What was tested", entry.measures), ("Why it matters", entry.why)]
    if entry.owasp:
        facts.append(("Risk probed", f"OWASP Top 10 for LLM Applications (2025): {entry.owasp}"))
    return [*facts, ("Serves", "; ".join(entry.articles))]


def _detail_lines(check: CheckResult) -> list[str]:
    details = check.details
    lines: list[str] = []
    if "baseline" in details:
        lines.append(
            f"The {details['metric'].replace('_', ' ')} was {details['baseline']:.3f} on the unchanged data; "
            f"perturbed inputs: {', '.join(details['columns'])}."
        )
    if "attacked" in details:
        lines.append(
            f"{details['attacked']} correctly decided cases were attacked; {details['flipped']} decisions were flipped, "
            f"{details['successful']} of them within the allowed change of {details['budget']:g} standard deviations."
        )
    if "baseline_accuracy" in details:
        shown = "; ".join(
            f"{method.replace('_', ' ')} {details['attack_accuracy'][method]:.3f} with the model's answers, "
            f"{details['baseline_accuracy'][method]:.3f} without"
            for method in details["advantages"]
        )
        lines.append(
            f"Accuracy guessing {details['sensitive_feature']} of {details['records_attacked']} training records "
            f"(the attackers learnt from {details['records_known']} others): {shown}. Always guessing the most common "
            f"value: {details['majority_rate']:.3f}."
        )
    elif "advantages" in details:
        shown = ", ".join(f"{method.replace('_', '-')} {value:.3f}" for method, value in details["advantages"].items())
        lines.append(
            f"Attack advantages: {shown}. Accuracy on training rows {details['train_accuracy']:.3f}, "
            f"on evaluation rows {details['test_accuracy']:.3f} ({details['records_per_side']} records each)."
        )
    if "failed_probes" in details:
        lines.append(
            f"{details['probes']} {'questions' if check.kind == 'qa_quality' else 'probes'} from {details['source']}; "
            f"{details['failed_probes']} {_FAILED_PROBE.get(check.kind, 'failed')}."
        )
        if details["also_measured"]:
            shown = ", ".join(f"{name.replace('_', ' ')} {value:.3f}" for name, value in details["also_measured"].items())
            lines.append(f"Also measured, not judged: {shown}.")
    if details.get("small_groups"):
        lines.append(
            f"Small groups (fewer than {details['min_group_size']} cases), kept and flagged: {', '.join(details['small_groups'])}. "
            "Their figures are uncertain; read their intervals."
        )
    return lines


def _group_rows(check: CheckResult) -> list[list[str]]:
    rows = []
    for group in check.details.get("groups", []):
        intervals = group.get("intervals") or {}
        cells = [group["group"] + (" (small)" if group["small"] else ""), f"{group['size']:,}"]
        for rate in ("selection_rate", "true_positive_rate", "false_positive_rate"):
            bounds = intervals.get(rate)
            value = group.get(rate)
            cell = _number(value)
            if bounds and value is not None:
                cell += f" [{bounds[0]:.3f}, {bounds[1]:.3f}]"
            cells.append(cell)
        rows.append(cells)
    return rows


GROUP_HEADERS = ["group", "cases", "positive decisions", "true-positive rate", "false-positive rate"]


def markdown(evaluation: Evaluation) -> str:
    passed = sum(check.verdict == "pass" for check in evaluation.checks)
    lines = [f"# Evaluation report: {evaluation.plan_name}", ""]
    lines += [f"**Overall verdict: {evaluation.verdict.upper()}** — {passed} of {len(evaluation.checks)} checks passed.", ""]
    lines += ["| check | measured | threshold | verdict |", "|---|---|---|---|"]
    lines += [
        f"| {check.id} | {_number(check.value)} | {_threshold(check)} | {check.verdict.upper()} |" for check in evaluation.checks
    ]
    for note in evaluation.notes:
        lines += ["", f"> {note}"]
    for check in evaluation.checks:
        entry = _entry(check)
        lines += ["", f"## {_title(check)}", "", f"**Verdict: {check.verdict.upper()}**", ""]
        if entry:
            lines += [f"- **{name}:** {value}" for name, value in _about(entry)]
        lines += [f"- **Threshold declared before the run:** {_threshold(check)}"]
        lines += [f"- **Measured:** {_measured(check, evaluation.confidence)}"]
        if check.reason:
            lines += [f"- **Why no value:** {check.reason}"]
        lines += ["", *_detail_lines(check)] if _detail_lines(check) else []
        if check.details.get("groups"):
            lines += ["", "| " + " | ".join(GROUP_HEADERS) + " |", "|" + "---|" * len(GROUP_HEADERS)]
            lines += ["| " + " | ".join(row) + " |" for row in _group_rows(check)]
        if f"plot-{check.id}.png" in evaluation.plots:
            lines += ["", f"![{check.id}](plot-{check.id}.png)"]
        for example in check.details.get("examples", []):
            lines += ["", f"**Example of a failed probe:** {example['probe']} ({example['technique']})", ""]
            lines += [_fenced(f"{name}: {example[name]}") for name in _EXAMPLE_PARTS if example.get(name)]
    lines += ["", "## Fingerprints", ""]
    lines += [f"- **{name}:** {value}" for name, value in _facts(evaluation)]
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.3rem} h2{font-size:1.2rem;margin:0 0 .5rem}
.verdict{display:inline-block;padding:.15rem .6rem;border-radius:.3rem;font-weight:700;color:#fff}
.pass{background:#1a7f37} .fail{background:#b42318}
.banner{padding:1rem 1.2rem;border-radius:.5rem;margin:1rem 0;font-size:1.15rem;border:2px solid}
.banner.pass{background:#e6f4ea;border-color:#1a7f37;color:#0f5323} .banner.fail{background:#fdecea;border-color:#b42318;color:#7a1a12}
table{border-collapse:collapse;margin:.6rem 0;width:100%} th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} section{border:1px solid #d0d7de;border-radius:.5rem;padding:1rem 1.2rem;margin:1.2rem 0;break-inside:avoid}
dl{display:grid;grid-template-columns:14rem 1fr;gap:.25rem .8rem;margin:.5rem 0} dt{font-weight:600} dd{margin:0}
.example{border-left:4px solid #b42318;padding:.2rem .8rem;margin:.6rem 0} .example p{margin:.2rem 0}
.part{font-size:.85rem;color:#57606a} pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.4rem .6rem;margin:0 0 .4rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
.note{background:#fff8c5;border-left:4px solid #c9a227;padding:.5rem .8rem} img{max-width:100%} code{word-break:break-all}
@media print{body{margin:0;max-width:none;font-size:10.5pt} section{break-inside:avoid;page-break-inside:avoid}
.verdict,.banner{-webkit-print-color-adjust:exact;print-color-adjust:exact} a{color:inherit;text-decoration:none}}
"""


def html(evaluation: Evaluation) -> str:
    passed = sum(check.verdict == "pass" for check in evaluation.checks)
    verdict = evaluation.verdict
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Evaluation report: {escape(evaluation.plan_name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Evaluation report: {escape(evaluation.plan_name)}</h1>",
        f"<p>Audit <b>{escape(evaluation.audit)}</b> · <code>{escape(_subject(evaluation))}</code></p>",
        f'<div class="banner {verdict}"><b>Overall verdict: {verdict.upper()}</b> — {passed} of {len(evaluation.checks)} checks passed '
        "the thresholds declared in the plan before the run.</div>",
    ]
    out += [f'<p class="note">{escape(note)}</p>' for note in evaluation.notes]
    out.append("<table><tr><th>check</th><th>measured</th><th>threshold</th><th>verdict</th></tr>")
    for check in evaluation.checks:
        out.append(
            f'<tr><td><a href="#{escape(check.id)}">{escape(check.id)}</a></td><td>{_number(check.value)}</td>'
            f'<td>{escape(_threshold(check))}</td><td><span class="verdict {check.verdict}">{check.verdict.upper()}</span></td></tr>'
        )
    out.append("</table>")
    for check in evaluation.checks:
        entry = _entry(check)
        out.append(
            f'<section id="{escape(check.id)}"><h2>{escape(_title(check))} <span class="verdict {check.verdict}">{check.verdict.upper()}</span></h2><dl>'
        )
        facts: list[tuple[str, str]] = []
        if entry:
            facts += _about(entry)
        facts += [("Threshold declared before the run", _threshold(check)), ("Measured", _measured(check, evaluation.confidence))]
        if check.reason:
            facts.append(("Why no value", check.reason))
        out += [f"<dt>{escape(name)}</dt><dd>{_inline(value)}</dd>" for name, value in facts]
        out.append("</dl>")
        out += [f"<p>{escape(line)}</p>" for line in _detail_lines(check)]
        if check.details.get("groups"):
            out.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in GROUP_HEADERS) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in _group_rows(check)]
            out.append("</table>")
        image = evaluation.plots.get(f"plot-{check.id}.png")
        if image:
            encoded = base64.b64encode(image).decode("ascii")
            out.append(f'<img alt="plot of {escape(check.id)}" src="data:image/png;base64,{encoded}">')
        examples = check.details.get("examples", [])
        if examples:
            out.append(f"<h3>Examples of failed probes ({len(examples)} shown; every exchange is in the run's transcripts)</h3>")
        for example in examples:
            out.append(f'<div class="example"><p><b>{escape(example["probe"])}</b> · {escape(example["technique"])}</p>')
            out += [
                f'<p class="part">{name}</p><pre>{escape(example[name])}</pre>' for name in _EXAMPLE_PARTS if example.get(name)
            ]
            out.append("</div>")
        out.append("</section>")
    out.append("<section><h2>Fingerprints</h2><dl>")
    out += [f"<dt>{escape(name)}</dt><dd><code>{escape(value)}</code></dd>" for name, value in _facts(evaluation)]
    out.append("</dl></section></body></html>")
    return "\n".join(out) + "\n"


_FAILED_PROBE = {
    "prompt_injection": "made the system follow the injected instruction",
    "system_prompt_leakage": "drew out the system prompt",
    "pii_leakage": "drew personal data the prompt did not hold",
    "qa_quality": "were answered wrongly (by the judged metric)",
}
_EXAMPLE_PARTS = ("prompt", "document", "answer", "why")


def _fenced(text: str) -> str:
    """A Markdown code block whose fence no backtick run of ``text`` can close."""
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}text\n{text}\n{fence}"


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _inline(text: str) -> str:
    """Escaped text with the catalogue's `code` spans as <code>."""
    parts = escape(text).split("`")
    return "".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts))


def render(evaluation: Evaluation, fmt: str) -> str:
    if fmt == "html":
        return html(evaluation)
    if fmt == "md":
        return markdown(evaluation)
    data: dict[str, Any] = evaluation.to_json()
    return json.dumps(data, indent=2) + "\n"
