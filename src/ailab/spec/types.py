"""Small value types of the specification: durations, Kubernetes quantities, names.

Each parser raises ``ValueError`` with a message that says what is allowed; pydantic
turns it into a located error (``lab.sandbox.profiles.gpu.max_ttl: ...``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

# ASCII digits only (``\d`` would take fullwidth and Arabic-Indic digits), and few enough that int() never meets Python's digit limit.
_DURATION = re.compile(r"([0-9]{1,40})([mhd])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_DURATION = timedelta(days=1_000_000)
"""About 2,700 years: far beyond any lifetime, and short enough that a moment plus a lifetime plus an
extension is still a date (``datetime`` ends in year 9999; past it, arithmetic raises OverflowError)."""


SHOWN_CHARS = 40
"""How much of a refused value an error message repeats: enough to find it, never a whole hostile input."""


def shown(value: object) -> str:
    """``value`` for an error message: its repr, cut to :data:`SHOWN_CHARS` characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 1]}…"


def parse_duration(text: object) -> timedelta:
    """Parse ``30m``, ``12h`` or ``7d`` into a positive timedelta of at most :data:`MAX_DURATION`."""
    if isinstance(text, timedelta):
        value = text
    else:
        match = _DURATION.fullmatch(str(text).strip())
        if not match:
            raise ValueError(f"{shown(text)} is not a duration; write a whole number and m, h or d, e.g. 30m, 12h, 7d")
        try:
            value = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        except OverflowError:  # more days than a timedelta holds
            value = timedelta.max
    if value <= timedelta(0):
        raise ValueError("a duration must be longer than zero")
    if value > MAX_DURATION:
        raise ValueError(f"{shown(text)} is too long a duration; at most {format_duration(MAX_DURATION)}")
    return value


def format_duration(value: timedelta) -> str:
    """The shortest exact ``Nd``/``Nh``/``Nm`` spelling of ``value``."""
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds // 60}m"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]

_CPU = re.compile(r"[0-9]{1,15}(\.[0-9]{1,3})?|[0-9]{1,15}m")
_BYTES = re.compile(r"([0-9]{1,20}(\.[0-9]{1,20})?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}


def cpu_cores(quantity: str) -> float:
    """Cores in a Kubernetes CPU quantity (``"4"``, ``"0.5"``, ``"500m"``)."""
    if not _CPU.fullmatch(quantity):
        raise ValueError(f"{shown(quantity)} is not a CPU quantity; write cores (4, 0.5) or millicores (500m)")
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def byte_count(quantity: str) -> int:
    """Bytes in a Kubernetes memory/storage quantity (``"16Gi"``, ``"500M"``)."""
    match = _BYTES.fullmatch(quantity)
    if not match:
        raise ValueError(f"{shown(quantity)} is not a size; write a number with Ki, Mi, Gi, Ti (binary) or k, M, G, T, e.g. 16Gi")
    unit = match.group(3)
    factor = _BINARY.get(unit or "", _DECIMAL.get(unit or "", 1))
    return int(float(match.group(1)) * factor)


def _check_cpu(value: object) -> str:
    text = str(value)
    if cpu_cores(text) <= 0:
        raise ValueError("a CPU quantity must be more than zero")
    return text


def _check_size(value: str) -> str:
    if byte_count(value) <= 0:
        raise ValueError("a size must be more than zero")
    return value


CpuQuantity = Annotated[str, BeforeValidator(_check_cpu)]
SizeQuantity = Annotated[str, AfterValidator(_check_size)]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def is_dns_label(value: str, max_length: int = 63) -> bool:
    """Whether ``value`` is a lower-case RFC 1123 label: what Kubernetes accepts as a namespace or Service name."""
    return len(value) <= max_length and _DNS_LABEL.fullmatch(value) is not None


def check_dns_label(value: str, max_length: int = 63) -> str:
    """``value`` if it is a DNS label (:func:`is_dns_label`), else a ValueError saying what is allowed."""
    if not is_dns_label(value, max_length):
        raise ValueError(
            f"{shown(value)} is not a DNS label; use at most {max_length} lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
        raise ValueError(
            f"{shown(value)} cannot be a Kubernetes label value; use at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
