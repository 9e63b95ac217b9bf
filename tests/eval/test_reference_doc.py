"""docs/eval-checks.md is generated from the catalogue; this fails when someone forgets to regenerate it."""

from __future__ import annotations

from pathlib import Path

from ailab.eval.reference import checks_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "eval-checks.md"


def test_committed_reference_is_current():
    assert DOC.read_text() == checks_markdown(), "regenerate: ailab eval checks --markdown docs/eval-checks.md"
