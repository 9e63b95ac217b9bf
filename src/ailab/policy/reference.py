"""The rules reference (``docs/policy-rules.md``), generated from the registry so it cannot drift.

Regenerate with ``ailab policy rules --markdown docs/policy-rules.md``; a test fails when the
committed file differs from what the catalogue produces.
"""

from __future__ import annotations

from collections.abc import Iterable

from ailab.policy.model import FRAMEWORKS, Rule

HEADER = """# Policy rules reference

Generated from the rule catalogue by `ailab policy rules --markdown docs/policy-rules.md`;
do not edit by hand. `ailab policy explain RULE-ID` prints one rule.
"""


def rules_markdown(rules: Iterable[Rule]) -> str:
    """Every rule with its severity, scope, types, rationale, remediation and control mappings."""
    rules = list(rules)
    lines = [HEADER, f"{len(rules)} rules.", "", "| rule | severity | title | frameworks |", "|---|---|---|---|"]
    for rule in rules:
        anchor = rule.id.lower()
        lines.append(
            f"| [{rule.id}](#{anchor}) | {rule.severity.value} | {_cell(rule.title)} | {', '.join(sorted(rule.frameworks()))} |"
        )
    lines += ["", "Frameworks: " + "; ".join(f"`{key}` {name}" for key, name in FRAMEWORKS.items()) + "."]
    for rule in rules:
        lines += ["", f"## {rule.id}", "", f"**{rule.title}**", ""]
        lines.append(f"- Severity: {rule.severity.value}")
        lines.append(f"- Scope: {rule.scope}")
        lines.append("- Applies to: " + (", ".join(f"`{token}`" for token in sorted(rule.types)) or "every resource"))
        lines += ["", f"**Rationale.** {rule.rationale}", "", f"**Remediation.** {rule.remediation}", "", "**Controls.**", ""]
        lines += [f"- {control.label()}" + (f" — {control.title}" if control.title else "") for control in rule.controls]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
