"""ailab.trail is a bottom layer (only errors, home, fsio and libraries), evidence a feature that never imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "ailab"
TRAIL_MAY_IMPORT = ("ailab.errors", "ailab.home", "ailab.fsio", "ailab.safeload", "ailab.formats", "ailab.trail")
EVIDENCE_MAY_NOT = ("ailab.cli", "ailab.sandbox", "ailab.infra", "ailab.policy")


def _ailab_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
    return [(line, name) for line, name in found if name == "ailab" or name.startswith("ailab.")]


def _under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("path", sorted((SRC / "trail").glob("*.py")), ids=lambda p: p.name)
def test_the_trail_imports_only_bottom_modules(path: Path) -> None:
    bad = [f"{path.name}:{line}: {name}" for line, name in _ailab_imports(path) if not _under(name, TRAIL_MAY_IMPORT)]
    assert not bad


@pytest.mark.parametrize("path", sorted((SRC / "evidence").glob("*.py")), ids=lambda p: p.name)
def test_evidence_stays_a_feature(path: Path) -> None:
    bad = [f"{path.name}:{line}: {name}" for line, name in _ailab_imports(path) if _under(name, EVIDENCE_MAY_NOT)]
    assert not bad
