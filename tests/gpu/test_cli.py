"""`ailab gpu inventory` and `ailab gpu check`: exit codes, one-line errors, tables and JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pynvml
import pytest
from tests.gpu.fake_nvml import a100_mig, geforce, gpu_lost, h100, no_permission, nvml_error
from tests.nvml_state import nvml_unavailable
from typer.testing import CliRunner

from ailab.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize("command", [["inventory"], ["inventory", "--json"], ["check"], ["check", "--json"]])
def test_without_a_driver_one_line_and_exit_3(command):
    """The real NVML of this CPU machine, in a child process as a user runs it."""
    if nvml_unavailable() is None:
        pytest.skip("this machine has a working NVIDIA driver")
    done = subprocess.run(
        [sys.executable, "-m", "ailab", "gpu", *command], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: no usable NVIDIA GPU on this host: no NVIDIA driver")


def test_driver_not_loaded_is_exit_3(fake_nvml):
    fake_nvml(init_error=nvml_error(pynvml.NVML_ERROR_DRIVER_NOT_LOADED))
    result = runner.invoke(app, ["gpu", "inventory"])
    assert result.exit_code == 3
    assert (
        result.output
        == "error: no usable NVIDIA GPU on this host: the NVIDIA driver is not loaded (no nvidia kernel module); load it or reboot\n"
    )


def test_no_gpu_is_exit_3(fake_nvml):
    fake_nvml()
    result = runner.invoke(app, ["gpu", "check"])
    assert result.exit_code == 3
    assert "reports no GPU" in result.output


def test_inventory_json_shape(fake_nvml):
    fake_nvml(a100_mig(), h100())
    result = runner.invoke(app, ["gpu", "inventory", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"schema", "driver_version", "cuda_driver_version", "nvml_version", "gpus", "unsupported", "errors"}
    assert [gpu["name"] for gpu in data["gpus"]] == ["NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3"]
    assert data["gpus"][0]["mig_devices"][2]["profile"] == "1g.10gb"


def test_inventory_table_says_not_supported(fake_nvml):
    fake_nvml(geforce())
    result = runner.invoke(app, ["gpu", "inventory"])
    assert result.exit_code == 0, result.output
    assert "GPU 0 · NVIDIA GeForce RTX 4090" in result.stdout
    assert "ECC mode" in result.stdout and "not supported" in result.stdout
    assert "driver 550.54.15 · CUDA 12.4" in result.stdout


def test_inventory_table_shows_mig_devices_and_a_lost_gpu(fake_nvml):
    lost = h100()
    lost.failures["nvmlDeviceGetHandleByIndex"] = gpu_lost()
    fake_nvml(a100_mig(), lost)
    result = runner.invoke(app, ["gpu", "inventory"])
    assert result.exit_code == 0, result.output
    assert "MIG device 1" in result.stdout and "1g.10gb" in result.stdout
    assert "lost (NVML_ERROR_GPU_IS_LOST)" in result.stdout


def test_inventory_table_shows_a_gpu_nvml_cannot_open(fake_nvml):
    closed = h100()
    closed.failures["nvmlDeviceGetHandleByIndex"] = no_permission()
    fake_nvml(closed)
    result = runner.invoke(app, ["gpu", "inventory"])
    assert result.exit_code == 0, result.output
    assert "NVML could not open the GPU: Insufficient Permissions" in " ".join(result.stdout.split())  # rich wraps at 80


def test_check_exit_0_when_all_healthy(fake_nvml):
    fake_nvml(a100_mig(), h100())
    result = runner.invoke(app, ["gpu", "check", "--min-driver", "535.104.05"])
    assert result.exit_code == 0, result.output
    assert "GPU health" in result.stdout and "fail" not in result.stdout


def test_check_exit_1_when_one_gpu_is_unhealthy(fake_nvml):
    broken = h100()
    broken.remapped_rows = (0, 1, 1, 0)
    fake_nvml(a100_mig(), broken)
    result = runner.invoke(app, ["gpu", "check", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["healthy"] is False
    assert [gpu["status"] for gpu in data["gpus"]] == ["ok", "fail"]
    assert set(data["gpus"][1]) == {"index", "name", "uuid", "status", "checks"}


def test_check_warnings_do_not_fail(fake_nvml):
    warm = h100()
    warm.ecc_aggregate = 1
    fake_nvml(warm)
    result = runner.invoke(app, ["gpu", "check"])
    assert result.exit_code == 0
    assert "warn" in result.stdout


def test_check_max_temp(fake_nvml):
    hot = h100()
    hot.temperature = 80
    fake_nvml(hot)
    assert runner.invoke(app, ["gpu", "check", "--max-temp", "79"]).exit_code == 1
    assert runner.invoke(app, ["gpu", "check", "--max-temp", "80"]).exit_code == 0


def test_bad_min_driver_is_exit_2_before_nvml_is_touched(fake_nvml):
    fake = fake_nvml(h100())
    result = runner.invoke(app, ["gpu", "check", "--min-driver", "latest"])
    assert result.exit_code == 2
    assert result.output == "error: minimum driver: 'latest' is not a driver version like 550.54.15\n"
    assert fake.shutdowns == 0
