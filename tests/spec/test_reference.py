"""docs/spec-reference.md documents every stack setting and is current."""

from __future__ import annotations

from pathlib import Path

from ailab.spec.reference import render_reference, spec_models

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"


def undocumented_fields() -> list[str]:
    """``Model.field`` for every field without a description."""
    return [
        f"{model.__name__}.{name}"
        for model in spec_models()
        for name, field in model.model_fields.items()
        if not field.description
    ]


def test_every_field_has_a_description() -> None:
    assert undocumented_fields() == []


def test_committed_reference_is_current() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        "docs/spec-reference.md is stale: run .venv/bin/ailab lab schema --format markdown > docs/spec-reference.md"
    )


def test_reference_covers_nested_sections() -> None:
    text = render_reference()
    for heading in ("## LabSpec", "## GpuPool", "## MigSharing", "## SandboxProfile", "## EgressRule", "## AccessSpec"):
        assert heading in text
    assert "| `admin_password` | secret | **required** |" in text
