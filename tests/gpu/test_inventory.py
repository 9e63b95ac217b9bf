"""collect_inventory and node_labels against a fake NVML: several GPU generations, unsupported fields,
failures per field, a lost GPU, and every way NVML can be unusable."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pynvml
import pytest
from tests.gpu.fake_nvml import MIB, FakeGpu, a100_mig, geforce, gpu_lost, h100, no_permission, not_supported, nvml_error, v100

from ailab.gpu import inventory as inventory_module
from ailab.gpu.inventory import NvmlUnavailableError, collect_inventory, node_labels

GPU_KEYS = {
    "index",
    "lost",
    "name",
    "uuid",
    "pci_bus_id",
    "memory",
    "compute_capability",
    "persistence_mode",
    "mig_mode",
    "mig_devices",
    "ecc_mode",
    "ecc_uncorrected_volatile",
    "ecc_uncorrected_aggregate",
    "retired_pages",
    "remapped_rows",
    "temperature_c",
    "power_draw_w",
    "power_limit_w",
    "utilization",
    "unsupported",
    "errors",
}


def test_host_fields_and_one_record_per_gpu(fake_nvml):
    fake = fake_nvml(a100_mig(), h100(), v100())
    inventory = collect_inventory()
    assert inventory["schema"] == 1
    assert inventory["driver_version"] == "550.54.15"
    assert inventory["cuda_driver_version"] == "12.4"
    assert inventory["nvml_version"] == "12.550.54.15"
    assert inventory["unsupported"] == [] and inventory["errors"] == {}
    assert [gpu["index"] for gpu in inventory["gpus"]] == [0, 1, 2]
    assert all(set(gpu) == GPU_KEYS for gpu in inventory["gpus"])
    assert fake.shutdowns == 1
    json.dumps(inventory)  # JSON-ready as it is


def test_a100_in_mig_mode_lists_its_mig_devices(fake_nvml):
    fake_nvml(a100_mig())
    gpu = collect_inventory()["gpus"][0]
    assert gpu["name"] == "NVIDIA A100-SXM4-80GB"
    assert gpu["uuid"] == "GPU-8eaaebb8-bb64-8489-fda2-62256e821983"
    assert gpu["pci_bus_id"] == "00000000:07:00.0"
    assert gpu["memory"] == {"total_bytes": 81920 * MIB, "used_bytes": 2**30}
    assert gpu["compute_capability"] == "8.0"
    assert gpu["mig_mode"] == {"current": "enabled", "pending": "enabled"}
    assert len(gpu["mig_devices"]) == 3  # the other four of the seven slots are empty (NOT_FOUND)
    assert gpu["mig_devices"][0] == {
        "index": 0,
        "uuid": "MIG-0c757cd7-e942-5726-a0b8-0e8fb7067130",
        "name": "NVIDIA A100-SXM4-80GB MIG 1g.10gb",
        "profile": "1g.10gb",
        "memory_total_bytes": 9728 * MIB,
        "gpu_instance_id": 7,
        "compute_instance_id": 0,
    }
    # With MIG instances NVML does not report row remapping; the A100 has no page retirement.
    assert gpu["remapped_rows"] is None and gpu["retired_pages"] is None
    assert sorted(gpu["unsupported"]) == ["remapped_rows", "retired_pages"]
    assert gpu["errors"] == {}


def test_h100_reports_remapped_rows_and_sensors(fake_nvml):
    fake_nvml(h100())
    gpu = collect_inventory()["gpus"][0]
    assert gpu["mig_mode"] == {"current": "disabled", "pending": "disabled"}
    assert gpu["mig_devices"] == []
    assert gpu["remapped_rows"] == {"correctable": 2, "uncorrectable": 0, "pending": False, "failure": False}
    assert gpu["unsupported"] == ["retired_pages"]
    assert gpu["persistence_mode"] == "enabled"
    assert gpu["ecc_mode"] == {"current": "enabled", "pending": "enabled"}
    assert (gpu["ecc_uncorrected_volatile"], gpu["ecc_uncorrected_aggregate"]) == (0, 0)
    assert gpu["temperature_c"] == 41
    assert (gpu["power_draw_w"], gpu["power_limit_w"]) == (98.0, 700.0)
    assert gpu["utilization"] == {"gpu_percent": 3, "memory_percent": 1}


def test_older_gpu_without_row_remapping_reports_retired_pages(fake_nvml):
    old = v100()
    old.retired_double_bit = [0x2000, 0x3000]
    old.retired_pending = pynvml.NVML_FEATURE_ENABLED
    fake_nvml(old)
    gpu = collect_inventory()["gpus"][0]
    assert gpu["retired_pages"] == {"single_bit_ecc": 1, "double_bit_ecc": 2, "pending": True}
    assert gpu["remapped_rows"] is None
    assert sorted(gpu["unsupported"]) == ["mig_mode", "remapped_rows"]


def test_unsupported_fields_are_null_and_listed_never_a_crash(fake_nvml):
    fake_nvml(geforce())
    gpu = collect_inventory()["gpus"][0]
    unsupported = {
        "mig_mode",
        "ecc_mode",
        "ecc_uncorrected_volatile",
        "ecc_uncorrected_aggregate",
        "retired_pages",
        "remapped_rows",
        "persistence_mode",
    }
    assert set(gpu["unsupported"]) == unsupported
    assert all(gpu[field] is None for field in unsupported)
    assert gpu["errors"] == {}
    assert gpu["name"] == "NVIDIA GeForce RTX 4090" and gpu["temperature_c"] == 41


def test_a_function_missing_from_an_old_driver_counts_as_unsupported(fake_nvml):
    gpu = h100()
    gpu.failures["nvmlDeviceGetRemappedRows"] = nvml_error(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
    fake_nvml(gpu)
    assert "remapped_rows" in collect_inventory()["gpus"][0]["unsupported"]


def test_other_field_failures_keep_nvml_message(fake_nvml):
    gpu = h100()
    gpu.failures.update({"nvmlDeviceGetTotalEccErrors": no_permission(), "nvmlDeviceGetPowerUsage": nvml_error(999)})
    fake_nvml(gpu)
    record = collect_inventory()["gpus"][0]
    assert record["errors"] == {
        "ecc_uncorrected_volatile": "Insufficient Permissions",
        "ecc_uncorrected_aggregate": "Insufficient Permissions",
        "power_draw_w": "Unknown Error",
    }
    assert record["ecc_uncorrected_volatile"] is None and record["power_limit_w"] == 700.0


def test_a_failing_mig_device_field_is_reported_under_its_path(fake_nvml):
    gpu = a100_mig()
    gpu.mig_devices[1].failures["nvmlDeviceGetUUID"] = no_permission()
    fake_nvml(gpu)
    record = collect_inventory()["gpus"][0]
    assert record["mig_devices"][1]["uuid"] is None
    assert record["errors"] == {"mig_devices[1].uuid": "Insufficient Permissions"}


@pytest.mark.parametrize("where", ["nvmlDeviceGetHandleByIndex", "nvmlDeviceGetEccMode"])
def test_a_lost_gpu_is_marked_and_the_others_are_still_read(fake_nvml, where):
    lost = h100()
    lost.failures[where] = gpu_lost()
    fake_nvml(a100_mig(), lost)
    first, second = collect_inventory()["gpus"]
    assert first["lost"] is False and first["name"] == "NVIDIA A100-SXM4-80GB"
    assert second["lost"] is True and second["index"] == 1
    assert second["temperature_c"] is None and second["remapped_rows"] is None
    if where == "nvmlDeviceGetEccMode":  # what was read before the GPU fell off stays
        assert second["mig_mode"] == {"current": "disabled", "pending": "disabled"}


def test_a_gpu_nvml_cannot_open_has_only_its_index(fake_nvml):
    gpu = h100()
    gpu.failures["nvmlDeviceGetHandleByIndex"] = no_permission()
    fake_nvml(gpu)
    record = collect_inventory()["gpus"][0]
    assert record["errors"] == {"handle": "Insufficient Permissions"} and record["lost"] is False
    assert all(record[key] is None for key in GPU_KEYS - {"index", "lost", "mig_devices", "unsupported", "errors"})


def test_bytes_from_older_bindings_are_decoded(fake_nvml):
    gpu = h100()
    gpu.name = b"NVIDIA H100 80GB HBM3"
    fake_nvml(gpu, driver=b"535.104.05")
    inventory = collect_inventory()
    assert inventory["driver_version"] == "535.104.05"
    assert inventory["gpus"][0]["name"] == "NVIDIA H100 80GB HBM3"


def test_host_level_field_failure_is_data_too(fake_nvml):
    fake_nvml(h100(), host_failures={"nvmlSystemGetCudaDriverVersion": not_supported()})
    inventory = collect_inventory()
    assert inventory["cuda_driver_version"] is None
    assert inventory["unsupported"] == ["cuda_driver_version"]


# NVML unusable: one specific exception with one line, the caller decides how to show it.


def test_missing_bindings(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    with pytest.raises(NvmlUnavailableError, match=r"nvidia-ml-py"):
        collect_inventory()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "no NVIDIA driver: libnvidia-ml.so.1"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "the NVIDIA driver is not loaded"),
        (pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "versions differ"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no permission"),
        (pynvml.NVML_ERROR_UNKNOWN, "NVML could not start: Unknown Error"),
    ],
)
def test_nvml_that_cannot_start(fake_nvml, code, expected):
    fake = fake_nvml(h100(), init_error=nvml_error(code))
    with pytest.raises(NvmlUnavailableError) as raised:
        collect_inventory()
    assert expected in str(raised.value) and "\n" not in str(raised.value)
    assert fake.shutdowns == 0


def test_no_gpu(fake_nvml):
    fake = fake_nvml()
    with pytest.raises(NvmlUnavailableError, match="reports no GPU"):
        collect_inventory()
    assert fake.shutdowns == 1


def test_gpus_that_cannot_be_counted(fake_nvml):
    fake_nvml(h100(), host_failures={"nvmlDeviceGetCount": nvml_error(pynvml.NVML_ERROR_UNKNOWN)})
    with pytest.raises(NvmlUnavailableError, match="could not count"):
        collect_inventory()


# node_labels: GPU feature discovery's keys and value formats.


def test_node_labels_of_an_h100_node(fake_nvml):
    fake_nvml(h100(), h100())
    assert node_labels(collect_inventory()) == {
        "nvidia.com/gpu.count": "2",
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "nvidia.com/gpu.memory": "81559",
        "nvidia.com/mig.capable": "true",
        "nvidia.com/gpu.compute.major": "9",
        "nvidia.com/gpu.compute.minor": "0",
        "nvidia.com/cuda.driver-version.full": "550.54.15",
    }


def test_node_labels_of_a_gpu_without_mig(fake_nvml):
    fake_nvml(v100())
    labels = node_labels(collect_inventory())
    assert labels["nvidia.com/mig.capable"] == "false"
    assert labels["nvidia.com/gpu.product"] == "Tesla-V100-SXM2-16GB"
    assert labels["nvidia.com/gpu.memory"] == "16384"


def test_node_labels_are_valid_kubernetes_label_values(fake_nvml):
    odd = FakeGpu(name=" NVIDIA RTX (prototype) / " + "x" * 80 + " ")
    fake_nvml(odd)
    product = node_labels(collect_inventory())["nvidia.com/gpu.product"]
    assert len(product) <= 63
    assert product[0].isalnum() and product[-1].isalnum()
    assert set(product) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def test_node_labels_leave_out_what_is_unknown(fake_nvml):
    lost = h100()
    lost.failures["nvmlDeviceGetHandleByIndex"] = gpu_lost()
    fake_nvml(lost)
    assert node_labels(collect_inventory()) == {
        "nvidia.com/gpu.count": "1",
        "nvidia.com/mig.capable": "false",
        "nvidia.com/cuda.driver-version.full": "550.54.15",
    }


def test_inventory_module_is_self_contained():
    """The gpu_node role ships inventory.py alone as Ansible module_utils: stdlib and pynvml only."""
    source = Path(inventory_module.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add((node.module or "").split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"pynvml"}
