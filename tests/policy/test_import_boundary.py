"""ailab.policy knows nothing of the infra, the planner or the sandboxes (docs/architecture.md: imports point downward)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.policy.support import REPO

POLICY = REPO / "src" / "ailab" / "policy"
FORBIDDEN = ("ailab.infra", "ailab.plan", "ailab.sandbox", "ailab.cli", "ailab.services", "ailab.hosts", "ailab.gpu")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"{path}:{node.lineno}: relative import; use absolute ailab.* imports")
    return found


@pytest.mark.parametrize("path", sorted(POLICY.rglob("*.py")), ids=lambda p: str(p.relative_to(POLICY)))
def test_policy_modules_stay_within_their_layer(path):
    bad = [
        f"{path.relative_to(REPO)}:{line}: imports {name}"
        for line, name in _imports(path)
        if any(name == forbidden or name.startswith(forbidden + ".") for forbidden in FORBIDDEN)
    ]
    assert not bad, "\n".join(bad)


def test_the_boundary_check_finds_forbidden_imports(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("import os\nfrom ailab.plan.graph import Plan\ndef f():\n    import ailab.sandbox\n")
    assert [name for _, name in _imports(sample) if name.startswith("ailab")] == [
        "ailab.plan.graph",
        "ailab.plan.graph.Plan",
        "ailab.sandbox",
    ]


def test_importing_the_engine_loads_no_forbidden_package():
    import subprocess
    import sys

    code = (
        "import sys, ailab.policy.engine, ailab.policy.loaders, ailab.policy.report.sarif, ailab.policy.report.html; "
        "from ailab.policy.model import all_rules; all_rules(); "
        f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
