"""Every trail test gets its own data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def ailab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ailab-home"
    monkeypatch.setenv("AILAB_HOME", str(home))
    return home
