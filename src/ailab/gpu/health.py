"""Health verdicts for the GPUs of an inventory (:func:`ailab.gpu.inventory.collect_inventory`).

Each GPU gets one :class:`Check` per concern, each ``ok``, ``warn`` or ``fail`` with a reason a
person can act on. A GPU is unhealthy when any of its checks fails; warnings are shown but do not
make ``ailab gpu check`` exit 1. The severities follow NVIDIA's guidance (DCGM isolates a GPU with
volatile double-bit errors, pending row remaps, a row-remap failure or pages pending retirement):

* ``reachable``: the GPU answered ``NVML_ERROR_GPU_IS_LOST``, or NVML could not open it at all → fail
  (nothing else is checked).
* ``driver``: below ``--min-driver`` → fail; version unknown or unparsable while a floor is set → warn.
* ``ecc_errors``: uncorrected errors since the driver loaded (volatile) → fail; only in the lifetime
  (aggregate) count → warn; ECC supported but disabled → warn.
* ``memory_repair``: row-remap failure → fail; row remap or page retirement pending → fail (the GPU
  needs a reset or reboot to apply it).
* ``temperature``: above ``--max-temp`` → fail.

A value the GPU does not support is ``ok`` with the reason saying so (there is nothing to judge);
a value that could not be read for another reason is a ``warn``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ailab.errors import BadInputError

Status = Literal["ok", "warn", "fail"]
_SEVERITY: dict[Status, int] = {"ok": 0, "warn": 1, "fail": 2}
_VERSION = re.compile(r"^\d+(\.\d+)*$")

DEFAULT_MAX_TEMP_C = 85
"""Below the slowdown temperature of data-centre GPUs (about 87-90 °C for A100/H100)."""


@dataclass(frozen=True)
class Check:
    """One concern of one GPU."""

    name: str
    status: Status
    reason: str


@dataclass(frozen=True)
class Limits:
    """What ``check`` judges against; an unparsable ``min_driver`` is a :class:`BadInputError`."""

    max_temp_c: int = DEFAULT_MAX_TEMP_C
    min_driver: str | None = None

    def __post_init__(self) -> None:
        if self.min_driver is not None:
            try:
                driver_version(self.min_driver)
            except ValueError as error:
                raise BadInputError(f"minimum driver: {error}") from None


@dataclass(frozen=True)
class GpuHealth:
    """The verdict for one GPU: its identity and its checks."""

    index: int
    name: str | None
    uuid: str | None
    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        """The worst status among the checks."""
        return max((check.status for check in self.checks), key=_SEVERITY.__getitem__)

    @property
    def healthy(self) -> bool:
        return self.status != "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "uuid": self.uuid,
            "status": self.status,
            "checks": [{"name": c.name, "status": c.status, "reason": c.reason} for c in self.checks],
        }


def driver_version(text: str) -> tuple[int, ...]:
    """``"550.54.15"`` → ``(550, 54, 15)``; components compare as numbers, so 535.104.05 > 535.86.10."""
    text = text.strip()
    if not _VERSION.fullmatch(text):
        raise ValueError(f"{text!r} is not a driver version like 550.54.15")
    return tuple(int(part) for part in text.split("."))


def assess(inventory: dict[str, Any], limits: Limits) -> list[GpuHealth]:
    """A verdict for every GPU of ``inventory``."""
    driver = _driver_check(inventory.get("driver_version"), limits.min_driver)
    return [_assess_gpu(gpu, driver, limits) for gpu in inventory["gpus"]]


def report(verdicts: list[GpuHealth], limits: Limits) -> dict[str, Any]:
    """The JSON of ``ailab gpu check --json``."""
    return {
        "healthy": all(verdict.healthy for verdict in verdicts),
        "limits": {"max_temp_c": limits.max_temp_c, "min_driver": limits.min_driver},
        "gpus": [verdict.to_json() for verdict in verdicts],
    }


def _assess_gpu(gpu: dict[str, Any], driver: Check, limits: Limits) -> GpuHealth:
    reachable = reachable_check(gpu)
    if reachable.status == "fail":
        checks: tuple[Check, ...] = (reachable,)  # nothing else about this GPU is known
    else:
        checks = (
            reachable,
            driver,
            _ecc_check(gpu),
            _memory_repair_check(gpu),
            _temperature_check(gpu, limits.max_temp_c),
        )
    return GpuHealth(index=gpu["index"], name=gpu["name"], uuid=gpu["uuid"], checks=checks)


def reachable_check(gpu: dict[str, Any]) -> Check:
    """Whether NVML could read the GPU at all; ``fail`` (lost, or not opened) means nothing else about it is known."""
    if gpu["lost"]:
        return Check("reachable", "fail", "the GPU is lost (NVML_ERROR_GPU_IS_LOST): reset the GPU or reboot the host")
    if "handle" in gpu["errors"]:
        return Check("reachable", "fail", f"NVML could not open the GPU: {gpu['errors']['handle']}")
    return Check("reachable", "ok", "answers NVML queries")


def _unread(gpu: dict[str, Any], field: str) -> str | None:
    """Why ``field`` of ``gpu`` has no value: NVML's error message, or None when it is merely unsupported."""
    message = gpu["errors"].get(field)
    return None if message is None else f"could not read {field}: {message}"


def _driver_check(version: str | None, floor: str | None) -> Check:
    if floor is None:
        return Check("driver", "ok", f"{version or 'unknown version'} (no minimum set)")
    if version is None:
        return Check("driver", "warn", f"the driver version could not be read; the minimum is {floor}")
    try:
        below = driver_version(version) < driver_version(floor)
    except ValueError as error:
        return Check("driver", "warn", f"cannot compare with the minimum {floor}: {error}")
    if below:
        return Check("driver", "fail", f"driver {version} is below the minimum {floor}; upgrade the NVIDIA driver")
    return Check("driver", "ok", f"driver {version} >= {floor}")


def _ecc_check(gpu: dict[str, Any]) -> Check:
    volatile, aggregate = gpu["ecc_uncorrected_volatile"], gpu["ecc_uncorrected_aggregate"]
    if volatile:
        return Check(
            "ecc_errors", "fail", f"{volatile} uncorrected ECC error(s) since the driver loaded: drain the GPU and reset it"
        )
    if aggregate:
        return Check(
            "ecc_errors", "warn", f"{aggregate} uncorrected ECC error(s) in the GPU's lifetime, none since the driver loaded"
        )
    ecc_mode = gpu["ecc_mode"]
    if ecc_mode is not None and ecc_mode["current"] == "disabled":
        return Check("ecc_errors", "warn", "ECC is supported but disabled: memory errors go undetected")
    unread = _unread(gpu, "ecc_uncorrected_volatile") or _unread(gpu, "ecc_uncorrected_aggregate")
    if unread:
        return Check("ecc_errors", "warn", unread)
    if volatile is None and aggregate is None:
        return Check("ecc_errors", "ok", "ECC error counts not supported by this GPU")
    return Check("ecc_errors", "ok", "no uncorrected ECC errors")


def _memory_repair_check(gpu: dict[str, Any]) -> Check:
    rows, pages = gpu["remapped_rows"], gpu["retired_pages"]
    if rows is not None:
        if rows["failure"]:
            return Check("memory_repair", "fail", "a row remapping has failed: the GPU's memory cannot be repaired (RMA)")
        if rows["pending"]:
            return Check("memory_repair", "fail", "row remapping pending: drain the GPU and reset it to apply")
        counts = f"{rows['correctable']} correctable, {rows['uncorrectable']} uncorrectable"
        return Check("memory_repair", "ok", f"rows remapped: {counts}; none pending")
    if pages is not None:
        if pages["pending"]:
            return Check(
                "memory_repair", "fail", "pages pending retirement: drain the GPU and reboot (or reset it) to retire them"
            )
        counts = f"{pages['single_bit_ecc']} single-bit, {pages['double_bit_ecc']} double-bit"
        return Check("memory_repair", "ok", f"pages retired: {counts}; none pending")
    unread = _unread(gpu, "remapped_rows") or _unread(gpu, "retired_pages")
    if unread:
        return Check("memory_repair", "warn", unread)
    # A100/H100 with MIG instances answer NOT_SUPPORTED for row remapping too (NVML documents it).
    return Check("memory_repair", "ok", "neither row remapping nor page retirement reported by this GPU")


def _temperature_check(gpu: dict[str, Any], max_temp_c: int) -> Check:
    temperature = gpu["temperature_c"]
    if temperature is None:
        unread = _unread(gpu, "temperature_c")
        return Check("temperature", "warn", unread) if unread else Check("temperature", "ok", "not reported by this GPU")
    if temperature > max_temp_c:
        return Check("temperature", "fail", f"{temperature} °C is above the maximum {max_temp_c} °C: check cooling and load")
    return Check("temperature", "ok", f"{temperature} °C (maximum {max_temp_c} °C)")
