"""`ailab gpu`: NVIDIA GPUs of this host: inventory and health (NVML).

Without a driver or a GPU both commands print one line and exit 3 (the root turns the
:class:`~ailab.errors.MissingPrerequisiteError` into that). NVML and rich load inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from ailab.cli.base import new_group
from ailab.gpu.health import DEFAULT_MAX_TEMP_C, reachable_check

if TYPE_CHECKING:
    from rich.table import Table

    from ailab.gpu.health import GpuHealth

app = new_group("NVIDIA GPUs of this host: inventory and health (NVML).")

_STATUS_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@app.command("inventory")
def inventory(
    as_json: bool = typer.Option(False, "--json", help="Print the inventory as JSON (null = not supported or not readable)."),
) -> None:
    """Every GPU: identity, memory, MIG and ECC modes, memory errors and repairs, temperature, power, utilisation."""
    from ailab.cli.console import emit_json, out
    from ailab.gpu.probe import read_inventory

    data = read_inventory()
    if as_json:
        emit_json(data)
        return
    console = out()
    console.print(
        f"driver {_show(data, 'driver_version')} · CUDA {_show(data, 'cuda_driver_version')} · NVML {_show(data, 'nvml_version')}"
    )
    for gpu in data["gpus"]:
        console.print(_gpu_table(gpu))


@app.command("check")
def check(
    max_temp: int = typer.Option(DEFAULT_MAX_TEMP_C, "--max-temp", min=1, max=150, help="Fail a GPU hotter than this many °C."),
    min_driver: str | None = typer.Option(
        None, "--min-driver", metavar="VERSION", help="Fail when the driver is older, e.g. 550.54.15."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Health verdict per GPU; exit 1 when any GPU is unhealthy, 0 when all are healthy."""
    from ailab.cli.console import emit_json, out
    from ailab.gpu.health import Limits, assess, report
    from ailab.gpu.probe import read_inventory

    limits = Limits(max_temp_c=max_temp, min_driver=min_driver)  # validated before NVML is touched
    verdicts = assess(read_inventory(), limits)
    if as_json:
        emit_json(report(verdicts, limits))
    else:
        out().print(_verdict_table(verdicts))
    if not all(verdict.healthy for verdict in verdicts):
        raise typer.Exit(1)


def _gpu_table(gpu: dict[str, Any]) -> Table:
    """One GPU as a two-column table; unreadable values say why."""
    from rich.table import Table

    title = _escape(f"GPU {gpu['index']} · {gpu['name'] or 'unknown'}")
    table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    reachable = reachable_check(gpu)
    if reachable.status == "fail":
        table.add_row("state", _escape(reachable.reason))
    rows = {
        "UUID": _show(gpu, "uuid"),
        "PCI bus id": _show(gpu, "pci_bus_id"),
        "memory": _show(gpu, "memory", lambda m: f"{m['used_bytes'] / 2**30:.1f} / {m['total_bytes'] / 2**30:.1f} GiB used"),
        "compute capability": _show(gpu, "compute_capability"),
        "persistence mode": _show(gpu, "persistence_mode"),
        "MIG mode": _show(gpu, "mig_mode", _modes),
        "ECC mode": _show(gpu, "ecc_mode", _modes),
        "uncorrected ECC errors": f"volatile {_show(gpu, 'ecc_uncorrected_volatile')}, aggregate {_show(gpu, 'ecc_uncorrected_aggregate')}",
        "remapped rows": _show(
            gpu,
            "remapped_rows",
            lambda r: (
                f"{r['correctable']} correctable, {r['uncorrectable']} uncorrectable, pending {_yes(r['pending'])}, failure {_yes(r['failure'])}"
            ),
        ),
        "retired pages": _show(
            gpu,
            "retired_pages",
            lambda p: f"{p['single_bit_ecc']} single-bit, {p['double_bit_ecc']} double-bit, pending {_yes(p['pending'])}",
        ),
        "temperature": _show(gpu, "temperature_c", lambda t: f"{t} °C"),
        "power": f"{_show(gpu, 'power_draw_w', lambda w: f'{w:.0f} W')} of {_show(gpu, 'power_limit_w', lambda w: f'{w:.0f} W')}",
        "utilisation": _show(gpu, "utilization", lambda u: f"GPU {u['gpu_percent']} %, memory {u['memory_percent']} %"),
    }
    for device in gpu["mig_devices"]:
        size = "?" if device["memory_total_bytes"] is None else f"{device['memory_total_bytes'] / 2**30:.1f} GiB"
        rows[f"MIG device {device['index']}"] = f"{device['profile'] or device['name'] or '?'} · {size} · {device['uuid'] or '?'}"
    for key, value in rows.items():
        table.add_row(key, value)
    return table


def _verdict_table(verdicts: list[GpuHealth]) -> Table:
    from rich.table import Table

    table = Table(title="GPU health", title_justify="left")
    for column in ("GPU", "verdict", "check", "result", "reason"):
        table.add_column(column)
    for verdict in verdicts:
        for position, item in enumerate(verdict.checks):
            first = position == 0
            table.add_row(
                _escape(f"{verdict.index} {verdict.name or ''}".strip()) if first else "",
                _status(verdict.status) if first else "",
                item.name,
                _status(item.status),
                _escape(item.reason),
            )
    return table


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE[status]}]{status}[/]"


def _show(record: dict[str, Any], field: str, render: Any = str) -> str:
    """``record[field]`` rendered, or why it has no value: not supported, NVML's error, or unknown."""
    value = record[field]
    if value is not None:
        return _escape(render(value))
    if field in record.get("unsupported", ()):
        return "not supported"
    if field in record.get("errors", {}):
        return _escape(f"unreadable ({record['errors'][field]})")
    return "unknown"


def _modes(modes: dict[str, str]) -> str:
    if modes["current"] == modes["pending"]:
        return modes["current"]
    return f"{modes['current']} ({modes['pending']} after reset)"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _escape(text: str) -> str:
    """GPU names and NVML messages are data, not rich markup."""
    from rich.markup import escape

    return escape(text)
