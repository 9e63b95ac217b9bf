"""Reading the input files named on the command line into records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ailab.errors import BadInputError
from ailab.policy.loaders.manifests import records_from_manifest_text
from ailab.policy.loaders.plan import records_from_plan
from ailab.policy.loaders.preview import records_from_preview
from ailab.policy.loaders.state import records_from_state
from ailab.policy.model import Record
from ailab.safeload import gc_paused, load_json_file, read_text

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def load_plan_file(path: Path) -> list[Record]:
    """An offline plan written by ``ailab lab plan --json FILE``."""
    return records_from_plan(load_json_file(path).data, str(path))


def load_preview_file(path: Path) -> list[Record]:
    """The output of ``pulumi preview --json``."""
    return records_from_preview(load_json_file(path).data, str(path))


def load_state_file(path: Path) -> list[Record]:
    """The output of ``pulumi stack export``."""
    return records_from_state(load_json_file(path).data, str(path))


def load_inputs(
    *, plan: Path | None = None, preview: Path | None = None, state: Path | None = None, manifests: Sequence[Path] = ()
) -> tuple[list[Record], list[str]]:
    """The records of every input file given (plan, preview, state export, manifests) and their sources, in that order."""
    records: list[Record] = []
    sources: list[str] = []
    for path, load in ((plan, load_plan_file), (preview, load_preview_file), (state, load_state_file)):
        if path is not None:
            records += load(path)
            sources.append(str(path))
    if manifests:
        records += load_manifests(manifests)
        sources += [str(path) for path in manifests]
    return records, sources


def load_manifests(paths: Sequence[Path]) -> list[Record]:
    """Every object in the given files and, recursively, in the YAML/JSON files of the given directories."""
    records: list[Record] = []
    with gc_paused():  # once for all files: re-enabling it after each one costs a full collection over the growing heap
        for path in paths:
            for file in manifest_files(path):
                records.extend(records_from_manifest_text(read_text(file), str(file)))
    return records


def manifest_files(path: Path) -> list[Path]:
    """``path`` itself, or the manifest files below it in a stable order (hidden directories skipped)."""
    if not path.is_dir():
        return [path]
    files = sorted(
        file
        for file in path.rglob("*")
        if file.suffix in MANIFEST_SUFFIXES
        and file.is_file()
        and not any(part.startswith(".") for part in file.relative_to(path).parts)
    )
    if not files:
        raise BadInputError(f"{path}: no {', '.join(MANIFEST_SUFFIXES)} files below this directory; check the path")
    return files
