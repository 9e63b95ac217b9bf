"""On a machine with an NVIDIA GPU: `ailab nodes facts` reads it through the role's module (local connection)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tests.hosts.conftest import ailab

pytestmark = pytest.mark.gpu


def test_facts_of_this_gpu_machine(tmp_path: Path) -> None:
    import pynvml

    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    inventory = tmp_path / "inventory.yml"
    # ailab's own Python has nvidia-ml-py; the module runs there, on this machine.
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(
        json.dumps({"all": {"children": {"servers": {"children": {"gpu_nodes": {"hosts": {"localhost": host}}}}}}})
    )
    run = ailab(tmp_path / "home", "nodes", "facts", "-i", str(inventory), "--json")
    assert run.returncode == 0, run.stderr
    fact = json.loads(run.stdout)["hosts"]["localhost"]
    assert fact["available"] is True and fact["gpu_count"] == count
    assert fact["labels"]["nvidia.com/gpu.count"] == str(count)
    assert all(gpu["uuid"] for gpu in fact["inventory"]["gpus"])
