"""``make demo`` starts ailab's local MLflow server and leaves it running: its last words say so and how to stop it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _demo_recipe() -> list[str]:
    """The demo target's recipe lines, as make would run them (dry run: nothing is executed)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-s", "demo"], cwd=REPO, capture_output=True, text=True, check=True)
    return dry.stdout.splitlines()


def test_the_demo_ends_saying_how_to_stop_the_server_it_started() -> None:
    recipe = _demo_recipe()
    started = next(index for index, line in enumerate(recipe) if "lab local up" in line)
    ending = " ".join(recipe[started + 1 :])
    assert "still running" in ending and "lab local down" in ending
    assert "lab local down" not in " ".join(recipe[:started])
