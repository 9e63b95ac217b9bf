"""Report renderers: one module per format, each ``render(report, fail_on) -> str``.

Renderers are imported on use, so a check that writes JSON never imports rich or the HTML template.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ailab.errors import BadInputError

if TYPE_CHECKING:
    from ailab.policy.engine import Report
    from ailab.policy.model import Severity

FILE_FORMATS: dict[str, tuple[str, str]] = {
    "json": ("ailab.policy.report.json_report", ".json"),
    "sarif": ("ailab.policy.report.sarif", ".sarif"),
    "junit": ("ailab.policy.report.junit", ".junit.xml"),
    "md": ("ailab.policy.report.markdown", ".md"),
    "html": ("ailab.policy.report.html", ".html"),
}
"""Formats written as text, with their module and file suffix."""
FORMATS = ("console", *FILE_FORMATS)
ALIASES = {"markdown": "md"}
"""Other names a format is known by (the README says Markdown)."""


def parse_formats(text: str) -> list[str]:
    """``"console,sarif"`` → ``["console", "sarif"]``, ``markdown`` → ``md``; an unknown format is a :class:`BadInputError`."""
    names = [item.strip().lower() for item in text.split(",") if item.strip()]
    formats = [ALIASES.get(name, name) for name in names]
    unknown = [item for item in formats if item not in FORMATS]
    if unknown or not formats:
        raise BadInputError(f"--format {text!r}: use one or more of {', '.join(FORMATS)} (md or markdown), separated by commas")
    return list(dict.fromkeys(formats))


def render(report: Report, format_name: str, fail_on: Severity) -> str:
    """The report in one of :data:`FILE_FORMATS`."""
    from ailab.safeload import gc_paused

    module = import_module(FILE_FORMATS[format_name][0])
    with gc_paused():  # many short-lived, acyclic objects
        text: str = module.render(report, fail_on)
    return text


def suffix(format_name: str) -> str:
    return FILE_FORMATS[format_name][1]
