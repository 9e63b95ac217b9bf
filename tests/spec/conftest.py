"""A throwaway Pulumi project whose stack file a test can rewrite."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ailab.spec.stackfile import Project, find_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "stacks").mkdir()
    shutil.copy(REPO / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for stack_file in (REPO / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, tmp_path / "stacks" / stack_file.name)
    return find_project(tmp_path)


@pytest.fixture
def write_stack(project: Project) -> Callable[[str, str], Path]:
    """Write ``text`` as stack ``name`` of the throwaway project."""

    def write(name: str, text: str) -> Path:
        path = project.stack_file(name)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def aws_text() -> str:
    return (REPO / "stacks" / "Pulumi.aws-eu.yaml").read_text(encoding="utf-8")
