"""A fake NVML at pynvml's boundary, as gpustat's tests do it.

The real ``pynvml`` module stays in place with its real error classes and constants; only the
functions :mod:`ailab.gpu.inventory` calls are replaced by ones answering from :class:`FakeGpu`
records. Handles are the fake records themselves (NVML handles are opaque to the caller).

Any NVML function can be made to fail for one device through ``failures`` (function name →
exception, ``"*"`` for every function), which is how unsupported fields, missing permissions and
lost GPUs are staged. Used by the unit tests and by ``benchmarks/gpu_bench.py`` (no pytest here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pynvml

GIB = 2**30
MIB = 2**20


def nvml_error(code: int) -> pynvml.NVMLError:
    """The NVMLError subclass pynvml raises for ``code`` (e.g. NVMLError_NotSupported)."""
    return pynvml.NVMLError(code)


def not_supported() -> pynvml.NVMLError:
    return nvml_error(pynvml.NVML_ERROR_NOT_SUPPORTED)


def no_permission() -> pynvml.NVMLError:
    return nvml_error(pynvml.NVML_ERROR_NO_PERMISSION)


def gpu_lost() -> pynvml.NVMLError:
    return nvml_error(pynvml.NVML_ERROR_GPU_IS_LOST)


@dataclass
class FakeDevice:
    """What the fake NVML functions share: a way to fail per function."""

    failures: dict[str, BaseException] = field(default_factory=dict)

    def answer(self, function: str, value: Any) -> Any:
        error = self.failures.get(function) or self.failures.get("*")
        if error is not None:
            raise error
        return value


@dataclass
class FakeMig(FakeDevice):
    """One MIG device (GPU instance + compute instance) of a MIG-enabled GPU."""

    name: str = ""
    uuid: str = ""
    memory_total: int = 0
    gpu_instance_id: int = 0
    compute_instance_id: int = 0


@dataclass
class FakeGpu(FakeDevice):
    """One physical GPU and everything NVML would say about it."""

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-6f2d1c9e-3b7a-4c1d-9e8f-0a1b2c3d4e5f"
    pci_bus_id: str = "00000000:17:00.0"
    memory_total: int = 81559 * MIB
    memory_used: int = 1 * GIB
    compute: tuple[int, int] = (9, 0)
    persistence: int = 1
    mig_mode: tuple[int, int] = (0, 0)
    mig_slots: int = 7
    mig_devices: dict[int, FakeMig] = field(default_factory=dict)
    ecc_mode: tuple[int, int] = (1, 1)
    ecc_volatile: int = 0
    ecc_aggregate: int = 0
    retired_single_bit: list[int] = field(default_factory=list)
    retired_double_bit: list[int] = field(default_factory=list)
    retired_pending: int = 0
    remapped_rows: tuple[int, int, int, int] = (0, 0, 0, 0)
    temperature: int = 41
    power_mw: int = 98_000
    power_limit_mw: int = 700_000
    utilization: tuple[int, int] = (3, 1)


@dataclass
class FakeNvml:
    """The fake library's host-wide answers, and what the code under test did with it."""

    gpus: list[FakeGpu]
    driver: str = "550.54.15"
    cuda: int = 12040
    nvml_version: str = "12.550.54.15"
    init_error: BaseException | None = None
    host_failures: dict[str, BaseException] = field(default_factory=dict)
    shutdowns: int = 0

    def install(self, patch: Callable[[Any, str, Any], None]) -> FakeNvml:
        """Replace pynvml's functions with this fake's, through ``patch`` (``monkeypatch.setattr`` or ``setattr``)."""
        for name, function in self._functions().items():
            patch(pynvml, name, function)
        return self

    def _host(self, function: str, value: Any) -> Any:
        error = self.host_failures.get(function)
        if error is not None:
            raise error
        return value

    def _init(self) -> None:
        if self.init_error is not None:
            raise self.init_error

    def _shutdown(self) -> None:
        self.shutdowns += 1

    def _handle(self, index: int) -> FakeGpu:
        gpu = self.gpus[index]
        return gpu.answer("nvmlDeviceGetHandleByIndex", gpu)

    def _functions(self) -> dict[str, Callable[..., Any]]:
        def mig_handle(gpu: FakeGpu, slot: int) -> FakeMig:
            gpu.answer("nvmlDeviceGetMigDeviceHandleByIndex", None)
            if slot not in gpu.mig_devices:
                raise nvml_error(pynvml.NVML_ERROR_NOT_FOUND)
            return gpu.mig_devices[slot]

        def ecc_errors(gpu: FakeGpu, error_type: int, counter: int) -> int:
            assert error_type == pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
            count = gpu.ecc_volatile if counter == pynvml.NVML_VOLATILE_ECC else gpu.ecc_aggregate
            return gpu.answer("nvmlDeviceGetTotalEccErrors", count)

        def retired_pages(gpu: FakeGpu, cause: int) -> list[int]:
            single = cause == pynvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS
            return gpu.answer("nvmlDeviceGetRetiredPages", gpu.retired_single_bit if single else gpu.retired_double_bit)

        def memory(device: FakeGpu | FakeMig) -> SimpleNamespace:
            total = device.memory_total
            used = getattr(device, "memory_used", 0)  # a MIG device's usage is not modelled
            return device.answer("nvmlDeviceGetMemoryInfo", SimpleNamespace(total=total, used=used, free=total - used))

        def temperature(gpu: FakeGpu, sensor: int) -> int:
            assert sensor == pynvml.NVML_TEMPERATURE_GPU
            return gpu.answer("nvmlDeviceGetTemperature", gpu.temperature)

        def util(gpu: FakeGpu) -> SimpleNamespace:
            gpu_percent, memory_percent = gpu.utilization
            return gpu.answer("nvmlDeviceGetUtilizationRates", SimpleNamespace(gpu=gpu_percent, memory=memory_percent))

        return {
            "nvmlInit": self._init,
            "nvmlShutdown": self._shutdown,
            "nvmlDeviceGetCount": lambda: self._host("nvmlDeviceGetCount", len(self.gpus)),
            "nvmlSystemGetDriverVersion": lambda: self._host("nvmlSystemGetDriverVersion", self.driver),
            "nvmlSystemGetCudaDriverVersion": lambda: self._host("nvmlSystemGetCudaDriverVersion", self.cuda),
            "nvmlSystemGetNVMLVersion": lambda: self._host("nvmlSystemGetNVMLVersion", self.nvml_version),
            "nvmlDeviceGetHandleByIndex": self._handle,
            "nvmlDeviceGetName": lambda d: d.answer("nvmlDeviceGetName", d.name),
            "nvmlDeviceGetUUID": lambda d: d.answer("nvmlDeviceGetUUID", d.uuid),
            # pynvml returns the ctypes structure, whose busId is bytes.
            "nvmlDeviceGetPciInfo": lambda g: g.answer("nvmlDeviceGetPciInfo", SimpleNamespace(busId=g.pci_bus_id.encode())),
            "nvmlDeviceGetMemoryInfo": memory,
            "nvmlDeviceGetCudaComputeCapability": lambda g: g.answer("nvmlDeviceGetCudaComputeCapability", g.compute),
            "nvmlDeviceGetPersistenceMode": lambda g: g.answer("nvmlDeviceGetPersistenceMode", g.persistence),
            "nvmlDeviceGetMigMode": lambda g: g.answer("nvmlDeviceGetMigMode", list(g.mig_mode)),
            "nvmlDeviceGetMaxMigDeviceCount": lambda g: g.answer("nvmlDeviceGetMaxMigDeviceCount", g.mig_slots),
            "nvmlDeviceGetMigDeviceHandleByIndex": mig_handle,
            "nvmlDeviceGetGpuInstanceId": lambda m: m.answer("nvmlDeviceGetGpuInstanceId", m.gpu_instance_id),
            "nvmlDeviceGetComputeInstanceId": lambda m: m.answer("nvmlDeviceGetComputeInstanceId", m.compute_instance_id),
            "nvmlDeviceGetEccMode": lambda g: g.answer("nvmlDeviceGetEccMode", list(g.ecc_mode)),
            "nvmlDeviceGetTotalEccErrors": ecc_errors,
            "nvmlDeviceGetRetiredPages": retired_pages,
            "nvmlDeviceGetRetiredPagesPendingStatus": lambda g: g.answer(
                "nvmlDeviceGetRetiredPagesPendingStatus", g.retired_pending
            ),
            "nvmlDeviceGetRemappedRows": lambda g: g.answer("nvmlDeviceGetRemappedRows", g.remapped_rows),
            "nvmlDeviceGetTemperature": temperature,
            "nvmlDeviceGetPowerUsage": lambda g: g.answer("nvmlDeviceGetPowerUsage", g.power_mw),
            "nvmlDeviceGetEnforcedPowerLimit": lambda g: g.answer("nvmlDeviceGetEnforcedPowerLimit", g.power_limit_mw),
            "nvmlDeviceGetUtilizationRates": util,
        }


# The GPUs of the lab, as NVML describes them. Ampere and later repair memory by row remapping
# (page retirement answers NOT_SUPPORTED); Volta retires pages (row remapping NOT_SUPPORTED).


def a100_mig() -> FakeGpu:
    """An A100 80GB in MIG mode with three 1g.10gb devices; with MIG instances, row remapping is NOT_SUPPORTED."""
    name = "NVIDIA A100-SXM4-80GB"
    migs = {
        slot: FakeMig(
            name=f"{name} MIG 1g.10gb",
            uuid=f"MIG-0c757cd7-e942-5726-a0b8-0e8fb706713{slot}",
            memory_total=9728 * MIB,
            gpu_instance_id=slot + 7,
            compute_instance_id=0,
        )
        for slot in range(3)
    }
    return FakeGpu(
        name=name,
        uuid="GPU-8eaaebb8-bb64-8489-fda2-62256e821983",
        pci_bus_id="00000000:07:00.0",
        memory_total=81920 * MIB,
        compute=(8, 0),
        mig_mode=(1, 1),
        mig_devices=migs,
        power_limit_mw=400_000,
        failures={"nvmlDeviceGetRetiredPages": not_supported(), "nvmlDeviceGetRemappedRows": not_supported()},
    )


def h100() -> FakeGpu:
    """An H100 80GB, MIG-capable with MIG off, rows remapped only for correctable errors."""
    return FakeGpu(remapped_rows=(2, 0, 0, 0), failures={"nvmlDeviceGetRetiredPages": not_supported()})


def v100() -> FakeGpu:
    """A Volta V100: no MIG, no row remapping, memory repaired by retiring pages."""
    return FakeGpu(
        name="Tesla V100-SXM2-16GB",
        uuid="GPU-b1028956-cfa2-0990-bf4a-5da9abb51763",
        pci_bus_id="00000000:3B:00.0",
        memory_total=16384 * MIB,
        compute=(7, 0),
        retired_single_bit=[0x1A2B000],
        power_limit_mw=300_000,
        failures={"nvmlDeviceGetMigMode": not_supported(), "nvmlDeviceGetRemappedRows": not_supported()},
    )


def geforce() -> FakeGpu:
    """A workstation card with none of the data-centre features: no ECC, no MIG, no memory repair counters."""
    unsupported = (
        "nvmlDeviceGetMigMode",
        "nvmlDeviceGetEccMode",
        "nvmlDeviceGetTotalEccErrors",
        "nvmlDeviceGetRetiredPages",
        "nvmlDeviceGetRemappedRows",
        "nvmlDeviceGetPersistenceMode",
    )
    return FakeGpu(
        name="NVIDIA GeForce RTX 4090",
        uuid="GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809",
        pci_bus_id="00000000:01:00.0",
        memory_total=24564 * MIB,
        compute=(8, 9),
        power_limit_mw=450_000,
        failures={function: not_supported() for function in unsupported},
    )
