"""Inventory of this host's NVIDIA GPUs through NVML, as JSON-ready data, and the node labels it implies.

This file is self-contained on purpose: the standard library and ``pynvml`` (the ``nvidia-ml-py``
package) only, never ``ailab.*``. The ``gpu_node`` Ansible role ships this very file to the hosts as
``module_utils`` (through a symlink), so ``ailab gpu``, the Ansible facts and the node labels share
one implementation. ``pynvml`` is imported when :func:`collect_inventory` runs, not at import time,
so a host without it gets :class:`NvmlUnavailableError` rather than an import failure.

Public API: :func:`collect_inventory`, :func:`node_labels`, :class:`NvmlUnavailableError`,
:data:`SCHEMA_VERSION`.

How a value that could not be read is shown (the same at host level and per GPU):

* the field is ``null`` (``None``), so every record has the same keys;
* its name is listed in the record's ``unsupported`` list when NVML says the GPU or driver does
  not support it (``NVML_ERROR_NOT_SUPPORTED``, or ``NVML_ERROR_FUNCTION_NOT_FOUND`` from a driver
  older than the call);
* or its name maps to NVML's message in the record's ``errors`` object for any other failure
  (``Insufficient Permissions``, ``Unknown Error`` ...);
* a GPU that answers ``NVML_ERROR_GPU_IS_LOST`` is marked ``"lost": true`` and the rest of its
  fields stay ``null``;
* a GPU NVML cannot open at all (``nvmlDeviceGetHandleByIndex`` fails) has every field ``null``
  and its ``errors`` (or ``unsupported``) names ``handle``.

No field is ever a sentinel string such as ``"N/A"``: a consumer tests ``is None`` and looks in
``unsupported`` / ``errors`` for the why.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

SCHEMA_VERSION = 1
"""Bumped when a key of :func:`collect_inventory`'s result changes meaning or disappears."""

_MIB = 1024 * 1024
_MIG_PROFILE = re.compile(r"\bMIG\s+(\S+)$")
# Kubernetes label values: at most 63 characters, alphanumerics at both ends, "-", "_" and "." inside.
_LABEL_VALUE_MAX = 63
_NOT_LABEL_CHARACTER = re.compile(r"[^A-Za-z0-9_.-]")


class NvmlUnavailableError(RuntimeError):
    """NVML cannot be used on this host: no nvidia-ml-py, no driver, a driver not loaded, or no GPU.

    ``str(error)`` is one line that says which, for the caller to show as is.
    """


class _GpuLostError(Exception):
    """Internal: the GPU being read answered NVML_ERROR_GPU_IS_LOST; stop reading it."""


class _Reader:
    """Calls NVML getters for one record and turns per-field failures into data instead of exceptions."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self.unsupported: list[str] = []
        self.errors: dict[str, str] = {}

    def read(self, field: str, getter: Callable[..., Any], *args: Any) -> Any:
        """``getter(*args)``, or ``None`` with ``field`` recorded as unsupported or failed."""
        nvml = self._nvml
        try:
            return getter(*args)
        except nvml.NVMLError_GpuIsLost:
            raise _GpuLostError(field) from None
        except (nvml.NVMLError_NotSupported, nvml.NVMLError_FunctionNotFound):
            self.unsupported.append(field)
        except nvml.NVMLError as error:
            self.errors[field] = str(error)
        return None


def collect_inventory() -> dict[str, Any]:
    """Every NVIDIA GPU of this host with its identity, configuration, memory health and sensors.

    Raises :class:`NvmlUnavailableError` when nvidia-ml-py is missing, the driver is absent or not
    loaded, or the driver reports no GPU. Never raises for a field a GPU does not support.
    """
    nvml = _load_nvml()
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:
        raise NvmlUnavailableError(_init_failure(nvml, error)) from None
    try:
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as error:
            raise NvmlUnavailableError(f"NVML could not count the GPUs: {error}") from None
        if count == 0:
            raise NvmlUnavailableError("the NVIDIA driver is loaded but reports no GPU")
        host = _Reader(nvml)
        cuda = host.read("cuda_driver_version", nvml.nvmlSystemGetCudaDriverVersion)
        return {
            "schema": SCHEMA_VERSION,
            "driver_version": _text(host.read("driver_version", nvml.nvmlSystemGetDriverVersion)),
            "cuda_driver_version": None if cuda is None else f"{cuda // 1000}.{cuda % 1000 // 10}",
            "nvml_version": _text(host.read("nvml_version", nvml.nvmlSystemGetNVMLVersion)),
            "gpus": [_gpu(nvml, index) for index in range(count)],
            "unsupported": host.unsupported,
            "errors": host.errors,
        }
    finally:
        # The inventory is complete by now; a failing shutdown changes nothing for the caller.
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()


def _load_nvml() -> Any:
    try:
        import pynvml
    except ImportError:
        raise NvmlUnavailableError("the Python NVML bindings are not installed (pip install nvidia-ml-py)") from None
    return pynvml


def _init_failure(nvml: Any, error: Any) -> str:
    """One line for why nvmlInit failed, naming the usual fix."""
    known = {
        nvml.NVML_ERROR_LIBRARY_NOT_FOUND: "no NVIDIA driver: libnvidia-ml.so.1 (NVML) was not found; install the NVIDIA driver",
        nvml.NVML_ERROR_DRIVER_NOT_LOADED: "the NVIDIA driver is not loaded (no nvidia kernel module); load it or reboot",
        nvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH: "the NVIDIA kernel module and NVML library versions differ (driver updated without a reboot); reboot",
        nvml.NVML_ERROR_NO_PERMISSION: "no permission to open the NVIDIA devices (/dev/nvidia*)",
    }
    return known.get(getattr(error, "value", None), f"NVML could not start: {error}")


def _gpu(nvml: Any, index: int) -> dict[str, Any]:
    """The record of GPU ``index``; a lost GPU keeps its index, ``lost: true`` and ``null`` fields."""
    record: dict[str, Any] = {
        "index": index,
        "lost": False,
        "name": None,
        "uuid": None,
        "pci_bus_id": None,
        "memory": None,
        "compute_capability": None,
        "persistence_mode": None,
        "mig_mode": None,
        "mig_devices": [],
        "ecc_mode": None,
        "ecc_uncorrected_volatile": None,
        "ecc_uncorrected_aggregate": None,
        "retired_pages": None,
        "remapped_rows": None,
        "temperature_c": None,
        "power_draw_w": None,
        "power_limit_w": None,
        "utilization": None,
    }
    reader = _Reader(nvml)
    try:
        handle = reader.read("handle", nvml.nvmlDeviceGetHandleByIndex, index)
        if handle is not None:
            _read_gpu(nvml, reader, handle, record)
    except _GpuLostError:
        record["lost"] = True
    record["unsupported"] = reader.unsupported
    record["errors"] = reader.errors
    return record


def _read_gpu(nvml: Any, reader: _Reader, handle: Any, record: dict[str, Any]) -> None:
    """Fill ``record`` field by field: each key is one NVML call (or one fixed group of calls)."""
    read = reader.read
    record["name"] = _text(read("name", nvml.nvmlDeviceGetName, handle))
    record["uuid"] = _text(read("uuid", nvml.nvmlDeviceGetUUID, handle))
    pci = read("pci_bus_id", nvml.nvmlDeviceGetPciInfo, handle)
    record["pci_bus_id"] = None if pci is None else _text(pci.busId)
    record["memory"] = read("memory", _memory, nvml, handle)
    capability = read("compute_capability", nvml.nvmlDeviceGetCudaComputeCapability, handle)
    record["compute_capability"] = None if capability is None else f"{capability[0]}.{capability[1]}"
    persistence = read("persistence_mode", nvml.nvmlDeviceGetPersistenceMode, handle)
    record["persistence_mode"] = None if persistence is None else _state(persistence)
    record["mig_mode"] = _modes(read("mig_mode", nvml.nvmlDeviceGetMigMode, handle))
    if record["mig_mode"] is not None and record["mig_mode"]["current"] == "enabled":
        record["mig_devices"] = _mig_devices(nvml, reader, handle)
    record["ecc_mode"] = _modes(read("ecc_mode", nvml.nvmlDeviceGetEccMode, handle))
    uncorrected = nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
    record["ecc_uncorrected_volatile"] = read(
        "ecc_uncorrected_volatile", nvml.nvmlDeviceGetTotalEccErrors, handle, uncorrected, nvml.NVML_VOLATILE_ECC
    )
    record["ecc_uncorrected_aggregate"] = read(
        "ecc_uncorrected_aggregate", nvml.nvmlDeviceGetTotalEccErrors, handle, uncorrected, nvml.NVML_AGGREGATE_ECC
    )
    # Both memory-repair mechanisms are asked for on every GPU: page retirement exists up to Volta/Turing,
    # row remapping from Ampere on; the one a GPU lacks lands in `unsupported`, which is the truth.
    record["retired_pages"] = read("retired_pages", _retired_pages, nvml, handle)
    record["remapped_rows"] = read("remapped_rows", _remapped_rows, nvml, handle)
    record["temperature_c"] = read("temperature_c", nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
    record["power_draw_w"] = _watts(read("power_draw_w", nvml.nvmlDeviceGetPowerUsage, handle))
    record["power_limit_w"] = _watts(read("power_limit_w", nvml.nvmlDeviceGetEnforcedPowerLimit, handle))
    rates = read("utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
    record["utilization"] = None if rates is None else {"gpu_percent": rates.gpu, "memory_percent": rates.memory}


def _memory(nvml: Any, handle: Any) -> dict[str, int]:
    info = nvml.nvmlDeviceGetMemoryInfo(handle)
    return {"total_bytes": int(info.total), "used_bytes": int(info.used)}


def _retired_pages(nvml: Any, handle: Any) -> dict[str, Any]:
    """Pages retired for repeated single-bit and for double-bit ECC errors, and whether some await a reboot."""
    return {
        "single_bit_ecc": len(
            nvml.nvmlDeviceGetRetiredPages(handle, nvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS)
        ),
        "double_bit_ecc": len(nvml.nvmlDeviceGetRetiredPages(handle, nvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR)),
        "pending": nvml.nvmlDeviceGetRetiredPagesPendingStatus(handle) == nvml.NVML_FEATURE_ENABLED,
    }


def _remapped_rows(nvml: Any, handle: Any) -> dict[str, Any]:
    correctable, uncorrectable, pending, failure = nvml.nvmlDeviceGetRemappedRows(handle)
    return {"correctable": correctable, "uncorrectable": uncorrectable, "pending": bool(pending), "failure": bool(failure)}


def _mig_devices(nvml: Any, reader: _Reader, handle: Any) -> list[dict[str, Any]]:
    """The MIG devices (GPU instance + compute instance) that exist on a MIG-enabled GPU."""
    slots = reader.read("mig_devices", nvml.nvmlDeviceGetMaxMigDeviceCount, handle) or 0
    devices = []
    for slot in range(slots):
        field = f"mig_devices[{slot}]"
        mig = reader.read(field, _mig_handle, nvml, handle, slot)
        if mig is None:
            continue
        name = _text(reader.read(f"{field}.name", nvml.nvmlDeviceGetName, mig))
        profile = _MIG_PROFILE.search(name) if name else None
        memory = reader.read(f"{field}.memory", _memory, nvml, mig)
        devices.append(
            {
                "index": slot,
                "uuid": _text(reader.read(f"{field}.uuid", nvml.nvmlDeviceGetUUID, mig)),
                "name": name,
                "profile": profile.group(1) if profile else None,
                "memory_total_bytes": None if memory is None else memory["total_bytes"],
                "gpu_instance_id": reader.read(f"{field}.gpu_instance_id", nvml.nvmlDeviceGetGpuInstanceId, mig),
                "compute_instance_id": reader.read(f"{field}.compute_instance_id", nvml.nvmlDeviceGetComputeInstanceId, mig),
            }
        )
    return devices


def _mig_handle(nvml: Any, handle: Any, slot: int) -> Any:
    try:
        return nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
    except nvml.NVMLError_NotFound:
        return None  # an empty slot: a GPU holds fewer MIG devices than its maximum


def _state(value: int) -> str:
    return "enabled" if value else "disabled"


def _modes(pair: Any) -> dict[str, str] | None:
    """NVML's ``[current, pending]`` mode pair as words."""
    return None if pair is None else {"current": _state(pair[0]), "pending": _state(pair[1])}


def _watts(milliwatts: int | None) -> float | None:
    return None if milliwatts is None else milliwatts / 1000


def _text(value: Any) -> str | None:
    """NVML strings as ``str``: older nvidia-ml-py releases (still found on hosts) return ``bytes``."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return None if value is None else str(value)


def node_labels(inventory: dict[str, Any]) -> dict[str, str]:
    """Kubernetes node labels describing the GPUs, with the keys and value formats of NVIDIA GPU feature discovery.

    ``nvidia.com/gpu.product`` (model, spaces as ``-``), ``nvidia.com/gpu.memory`` (MiB),
    ``nvidia.com/gpu.count``, ``nvidia.com/mig.capable``, ``nvidia.com/gpu.compute.major/minor`` and
    ``nvidia.com/cuda.driver-version.full``, so a node labelled here and later by GFD keeps the same
    values. Model, memory and compute capability come from the first GPU that reports them (GFD
    also labels one model per node); a label whose value is unknown is left out, never guessed.
    """
    gpus = inventory["gpus"]
    labels = {
        "nvidia.com/gpu.count": str(len(gpus)),
        # GFD: capable when any GPU answers the MIG mode query (NOT_SUPPORTED means not capable).
        "nvidia.com/mig.capable": "true" if any(gpu["mig_mode"] is not None for gpu in gpus) else "false",
    }
    name = _first(gpus, "name")
    if name:
        labels["nvidia.com/gpu.product"] = _label_value(name.replace(" ", "-"))
    memory = _first(gpus, "memory")
    if memory:
        labels["nvidia.com/gpu.memory"] = str(memory["total_bytes"] // _MIB)
    capability = _first(gpus, "compute_capability")
    if capability:
        labels["nvidia.com/gpu.compute.major"], labels["nvidia.com/gpu.compute.minor"] = capability.split(".")
    if inventory.get("driver_version"):
        labels["nvidia.com/cuda.driver-version.full"] = _label_value(inventory["driver_version"])
    return {key: value for key, value in labels.items() if value}


def _first(gpus: list[dict[str, Any]], field: str) -> Any:
    return next((gpu[field] for gpu in gpus if gpu[field] is not None), None)


def _label_value(text: str) -> str:
    """``text`` made a valid Kubernetes label value (may be empty when nothing valid is left)."""
    return _NOT_LABEL_CHARACTER.sub("-", text)[:_LABEL_VALUE_MAX].strip("-_.")
