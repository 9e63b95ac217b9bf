"""Health verdicts: each staged problem gives its expected status and reason."""

from __future__ import annotations

import pynvml
import pytest
from tests.gpu.fake_nvml import FakeGpu, a100_mig, geforce, gpu_lost, h100, no_permission, v100

from ailab.errors import BadInputError
from ailab.gpu.health import Limits, assess, driver_version, report
from ailab.gpu.inventory import collect_inventory


def verdict(fake_nvml, gpu: FakeGpu, limits: Limits | None = None, **host):
    fake_nvml(gpu, **host)
    (result,) = assess(collect_inventory(), limits or Limits())
    return result


def check(result, name: str):
    (found,) = [item for item in result.checks if item.name == name]
    return found


@pytest.mark.parametrize("make", [a100_mig, h100, v100, geforce], ids=["a100-mig", "h100", "v100", "geforce"])
def test_healthy_gpus_of_every_generation(fake_nvml, make):
    result = verdict(fake_nvml, make())
    assert result.status == "ok" and result.healthy
    assert [item.name for item in result.checks] == ["reachable", "driver", "ecc_errors", "memory_repair", "temperature"]


def test_unsupported_counters_are_ok_and_say_so(fake_nvml):
    result = verdict(fake_nvml, geforce())
    assert check(result, "ecc_errors").reason == "ECC error counts not supported by this GPU"
    assert "neither row remapping nor page retirement" in check(result, "memory_repair").reason


def test_volatile_uncorrected_ecc_errors_fail(fake_nvml):
    gpu = h100()
    gpu.ecc_volatile = gpu.ecc_aggregate = 3
    result = verdict(fake_nvml, gpu)
    assert result.status == "fail" and not result.healthy
    assert check(result, "ecc_errors").reason.startswith("3 uncorrected ECC error(s) since the driver loaded")


def test_aggregate_only_uncorrected_ecc_errors_warn(fake_nvml):
    gpu = h100()
    gpu.ecc_aggregate = 1
    result = verdict(fake_nvml, gpu)
    assert result.status == "warn" and result.healthy
    assert "in the GPU's lifetime" in check(result, "ecc_errors").reason


def test_ecc_disabled_warns(fake_nvml):
    gpu = h100()
    gpu.ecc_mode = (0, 0)
    assert check(verdict(fake_nvml, gpu), "ecc_errors").status == "warn"


@pytest.mark.parametrize(
    ("rows", "status", "reason"),
    [
        ((0, 1, 1, 0), "fail", "row remapping pending"),
        ((0, 512, 0, 1), "fail", "row remapping has failed"),
        ((5, 1, 0, 0), "ok", "rows remapped: 5 correctable, 1 uncorrectable; none pending"),
    ],
)
def test_row_remapping(fake_nvml, rows, status, reason):
    gpu = h100()
    gpu.remapped_rows = rows
    found = check(verdict(fake_nvml, gpu), "memory_repair")
    assert (found.status, reason in found.reason) == (status, True)


def test_pages_pending_retirement_fail_on_an_older_gpu(fake_nvml):
    gpu = v100()
    gpu.retired_double_bit = [0x4000]
    gpu.retired_pending = pynvml.NVML_FEATURE_ENABLED
    found = check(verdict(fake_nvml, gpu), "memory_repair")
    assert found.status == "fail" and "pending retirement" in found.reason


def test_retired_pages_without_pending_are_ok(fake_nvml):
    found = check(verdict(fake_nvml, v100()), "memory_repair")
    assert (found.status, found.reason) == ("ok", "pages retired: 1 single-bit, 0 double-bit; none pending")


@pytest.mark.parametrize(("temperature", "status"), [(85, "ok"), (86, "fail")])
def test_temperature_against_the_maximum(fake_nvml, temperature, status):
    gpu = h100()
    gpu.temperature = temperature
    assert check(verdict(fake_nvml, gpu, Limits(max_temp_c=85)), "temperature").status == status


@pytest.mark.parametrize(
    ("installed", "floor", "status"),
    [
        ("550.54.15", "550.54.15", "ok"),
        ("550.54.15", "550.54.14", "ok"),
        ("550.54.15", "550.100", "fail"),  # numeric, not text: 54 < 100
        ("535.104.05", "535.86.10", "ok"),
        ("470.256.02", "535", "fail"),
        ("550.54.15", None, "ok"),
        ("unreleased-dev", "550", "warn"),
    ],
)
def test_driver_floor(fake_nvml, installed, floor, status):
    found = check(verdict(fake_nvml, h100(), Limits(min_driver=floor), driver=installed), "driver")
    assert found.status == status


def test_driver_version_parsing():
    assert driver_version("550.54.15") == (550, 54, 15)
    assert driver_version(" 535.104.05 ") == (535, 104, 5)
    assert driver_version("560") == (560,)
    with pytest.raises(ValueError, match="not a driver version"):
        driver_version("550.x")


def test_unparsable_floor_is_bad_input():
    with pytest.raises(BadInputError, match="'R550' is not a driver version"):
        Limits(min_driver="R550")


def test_a_lost_gpu_fails_and_nothing_else_is_judged(fake_nvml):
    gpu = h100()
    gpu.failures["nvmlDeviceGetTemperature"] = gpu_lost()
    result = verdict(fake_nvml, gpu)
    assert result.status == "fail"
    assert [(item.name, item.status) for item in result.checks] == [("reachable", "fail")]


def test_a_gpu_nvml_cannot_open_fails(fake_nvml):
    gpu = h100()
    gpu.failures["nvmlDeviceGetHandleByIndex"] = no_permission()
    result = verdict(fake_nvml, gpu)
    assert [(item.name, item.status, item.reason) for item in result.checks] == [
        ("reachable", "fail", "NVML could not open the GPU: Insufficient Permissions")
    ]


def test_unreadable_health_data_warns_with_nvml_message(fake_nvml):
    gpu = h100()
    gpu.failures.update({"nvmlDeviceGetTotalEccErrors": no_permission(), "nvmlDeviceGetRemappedRows": no_permission()})
    result = verdict(fake_nvml, gpu)
    assert result.status == "warn" and result.healthy
    assert check(result, "ecc_errors").reason == "could not read ecc_uncorrected_volatile: Insufficient Permissions"
    assert check(result, "memory_repair").reason == "could not read remapped_rows: Insufficient Permissions"


def test_report_json(fake_nvml):
    hot = h100()
    hot.temperature = 95
    fake_nvml(a100_mig(), hot)
    limits = Limits(max_temp_c=90, min_driver="535")
    data = report(assess(collect_inventory(), limits), limits)
    assert data["healthy"] is False
    assert data["limits"] == {"max_temp_c": 90, "min_driver": "535"}
    assert [(gpu["index"], gpu["status"]) for gpu in data["gpus"]] == [(0, "ok"), (1, "fail")]
    assert data["gpus"][1]["checks"][-1] == {
        "name": "temperature",
        "status": "fail",
        "reason": "95 °C is above the maximum 90 °C: check cooling and load",
    }
