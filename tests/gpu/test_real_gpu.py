"""Against a real NVIDIA GPU and driver (tier ``gpu``; tests/conftest.py skips these with NVML's reason elsewhere).

They assume a healthy GPU in a lab node: a failing ``check`` here is a finding about the machine,
and its reasons are in the assertion message.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from ailab.gpu.health import Limits, assess, driver_version
from ailab.gpu.inventory import collect_inventory, node_labels

pytestmark = pytest.mark.gpu

GPU_UUID = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PCI_BUS_ID = re.compile(r"^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$")


@pytest.fixture(scope="module")
def inventory() -> dict:
    return collect_inventory()


def test_driver_and_cuda_versions_parse(inventory):
    assert driver_version(inventory["driver_version"])[0] >= 400
    assert re.match(r"^\d+\.\d+$", inventory["cuda_driver_version"])
    assert inventory["nvml_version"]


def test_every_gpu_has_sane_identity_and_memory(inventory):
    assert inventory["gpus"]
    for gpu in inventory["gpus"]:
        assert gpu["lost"] is False
        assert gpu["name"] and GPU_UUID.match(gpu["uuid"]), gpu["uuid"]
        assert PCI_BUS_ID.match(gpu["pci_bus_id"]), gpu["pci_bus_id"]
        assert gpu["memory"]["total_bytes"] > 0
        assert 0 <= gpu["memory"]["used_bytes"] <= gpu["memory"]["total_bytes"]
        assert re.match(r"^\d+\.\d+$", gpu["compute_capability"])
        assert gpu["temperature_c"] is None or 0 < gpu["temperature_c"] < 120


def test_every_field_is_a_value_or_accounted_for(inventory):
    for gpu in inventory["gpus"]:
        missing = {key for key, value in gpu.items() if value is None}
        accounted = set(gpu["unsupported"]) | set(gpu["errors"])
        assert missing <= accounted, f"GPU {gpu['index']}: {missing - accounted} are null without a reason"
    json.dumps(inventory)


def test_mig_devices_when_mig_is_enabled(inventory):
    for gpu in inventory["gpus"]:
        if gpu["mig_mode"] and gpu["mig_mode"]["current"] == "enabled":
            for device in gpu["mig_devices"]:
                assert device["uuid"].startswith("MIG-") and re.match(r"^\d+g\.\d+gb", device["profile"])


def test_node_labels(inventory):
    labels = node_labels(inventory)
    assert labels["nvidia.com/gpu.count"] == str(len(inventory["gpus"]))
    assert int(labels["nvidia.com/gpu.memory"]) > 0
    assert labels["nvidia.com/mig.capable"] in {"true", "false"}
    assert " " not in labels["nvidia.com/gpu.product"]


def test_check_passes_on_a_healthy_gpu(inventory):
    verdicts = assess(inventory, Limits())
    unhealthy = {v.index: [c.reason for c in v.checks if c.status == "fail"] for v in verdicts if not v.healthy}
    assert not unhealthy, unhealthy


def test_cli_inventory_json_under_one_second():
    """The issue's target, start-up included (one GPU); the benchmark records the median."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ailab", "gpu", "inventory", "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["gpus"]
    assert elapsed < 2.0, f"{elapsed:.2f} s (target < 1 s; 2 s here leaves room for a cold cache)"


def test_cli_check_exit_0():
    done = subprocess.run(
        [sys.executable, "-m", "ailab", "gpu", "check"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
