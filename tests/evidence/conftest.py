"""Every evidence test gets its own data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def ailab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ailab-home"
    monkeypatch.setenv("AILAB_HOME", str(home))
    for name in ("AILAB_TRAIL_STORE", "AILAB_TRAIL_TSA_URL", "AILAB_TRAIL_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    return home
