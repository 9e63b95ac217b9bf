"""Consoles and small output helpers shared by the command groups (rich is imported on first use)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailab.errors import BadInputError
from ailab.fsio import atomic_write_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from ailab.spec.stackfile import StackConfig


@cache
def out() -> Console:
    """The console for results (stdout)."""
    from rich.console import Console

    return Console(highlight=False)


@cache
def err() -> Console:
    """The console for progress, warnings and errors (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_error(message: str) -> None:
    """Each line of ``message`` as ``error: ...`` on stderr, without markup interpretation."""
    for line in message.splitlines() or [message]:
        sys.stderr.write(f"error: {line}\n")


def text_row(table: Table, *cells: str) -> None:
    """Add a row of values that came from users, files or services: shown as they are, never read as rich markup
    (``[/b]`` in an audit id would raise, ``[secret]`` in an error would vanish)."""
    from rich.markup import escape

    table.add_row(*(escape(cell) for cell in cells))


def print_rows(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, to: Console | None = None) -> None:
    """Rows of data on stdout (or ``to``), readable at any width and in a pipe; nothing is ever cut.

    - In a pipe or a file: plain columns padded to their longest cell (no box characters), so
      ``grep`` and ``cut`` see whole values.
    - On a terminal wide enough for every cell: a table.
    - On a narrower one (80 columns): one block per row, the first column as its heading and each
      other column on a line of its own, rather than a table whose cells are cut or wrapped to a
      word per line.
    """
    console = to or out()
    widths = [max(len(header), *(len(row[index]) for row in rows)) for index, header in enumerate(headers)]
    if not console.is_terminal:
        for cells in (headers, *rows):
            console.file.write("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() + "\n")
        return
    from rich.table import Table

    if sum(widths) + 3 * len(widths) + 1 <= console.width:
        table = Table(title=title)
        for header in headers:
            table.add_column(header, no_wrap=True)
        for row in rows:
            text_row(table, *row)
        console.print(table)
        return
    label = max(len(header) for header in headers[1:])
    console.print(f"[bold]{title}[/]")
    for row in rows:
        console.print(row[0], style="bold", markup=False, highlight=False)
        for header, cell in zip(headers[1:], row[1:], strict=True):
            console.print(f"  {header.ljust(label)}  {cell}", markup=False, highlight=False)


def warn_example_secrets(stack_config: StackConfig) -> None:
    """One line on stderr while a stack's secrets are encrypted with the published example passphrase."""
    from rich.markup import escape

    from ailab.spec.stackfile import example_secrets_warning

    warning = example_secrets_warning(stack_config)
    if warning is not None:
        err().print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def json_to_stdout(destination: Path | None) -> bool:
    """``--json -``: the JSON goes to stdout, so everything else a command prints goes to stderr."""
    return destination is not None and str(destination) == "-"


def emit_json(data: Any, destination: Path | None = None) -> None:
    """Print ``data`` as JSON, or write it atomically to ``destination`` (``-`` means stdout)."""
    text = to_json(data)
    if destination is None or json_to_stdout(destination):
        sys.stdout.write(text)
        return
    if destination.is_dir():
        raise BadInputError(f"{destination}: is a directory; give a file name for the JSON")
    write_file(destination, text)


def write_file(destination: Path, text: str) -> None:
    """Write a file the user named, atomically, and say so on stderr; a path that cannot be written is bad input."""
    try:
        atomic_write_text(destination, text)
    except OSError as error:
        reason = f"{error.strerror}: {error.filename}" if error.strerror and error.filename else str(error)
        raise BadInputError(f"{destination}: cannot write it ({reason})") from None
    err().print(f"wrote {destination}", markup=False)
