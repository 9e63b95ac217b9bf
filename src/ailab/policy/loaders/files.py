"""Reading the input files named on the command line into records."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ailab.errors import BadInputError
from ailab.policy.loaders.manifests import records_from_manifest_text
from ailab.policy.loaders.plan import records_from_plan
from ailab.policy.loaders.preview import records_from_preview
from ailab.policy.loaders.state import records_from_state
from ailab.policy.model import Record
from ailab.safeload import gc_paused, load_json, read_text

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
# Files of a repository that are YAML but never Kubernetes objects, by (lower-case) name.
_NOT_MANIFESTS = {
    "chart.yaml": "a Helm chart's metadata",
    "chart.lock": "a Helm chart's lock file",
    "values.yaml": "Helm values",
    "values.yml": "Helm values",
    "kustomization.yaml": "a kustomization; check the output of kustomize build",
    "kustomization.yml": "a kustomization; check the output of kustomize build",
    "docker-compose.yaml": "a Compose file",
    "docker-compose.yml": "a Compose file",
    "compose.yaml": "a Compose file",
    "compose.yml": "a Compose file",
}


@dataclass
class LoadedInputs:
    """What the input files gave: their records, the sources for the report header, and notes on what was skipped."""

    records: list[Record] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    """SHA-256 of every file read, by path, so a report says exactly what it checked."""


def load_plan_file(path: Path, digests: dict[str, str] | None = None) -> list[Record]:
    """An offline plan written by ``ailab lab plan --json FILE``."""
    return records_from_plan(_json(path, digests), str(path))


def load_preview_file(path: Path, digests: dict[str, str] | None = None) -> list[Record]:
    """The output of ``pulumi preview --json``."""
    return records_from_preview(_json(path, digests), str(path))


def load_state_file(path: Path, digests: dict[str, str] | None = None) -> list[Record]:
    """The output of ``pulumi stack export``."""
    return records_from_state(_json(path, digests), str(path))


def _json(path: Path, digests: dict[str, str] | None) -> Any:
    return load_json(_read(path, digests), str(path)).data


def _read(path: Path, digests: dict[str, str] | None) -> str:
    """The text of ``path``; its SHA-256 (of the bytes read: the text is UTF-8) goes into ``digests``."""
    text = read_text(path)
    if digests is not None:
        digests[str(path)] = hashlib.sha256(text.encode()).hexdigest()
    return text


def load_inputs(
    *, plan: Path | None = None, preview: Path | None = None, state: Path | None = None, manifests: Sequence[Path] = ()
) -> LoadedInputs:
    """The records of every input file given (plan, preview, state export, manifests) and their sources, in that order."""
    loaded = LoadedInputs()
    for path, load in ((plan, load_plan_file), (preview, load_preview_file), (state, load_state_file)):
        if path is not None:
            loaded.records += load(path, loaded.digests)
            loaded.sources.append(str(path))
    if manifests:
        loaded.records += load_manifests(manifests, loaded.notes, loaded.digests)
        loaded.sources += [str(path) for path in manifests]
    return loaded


def load_manifests(paths: Sequence[Path], notes: list[str] | None = None, digests: dict[str, str] | None = None) -> list[Record]:
    """Every object in the given files and, recursively, in the YAML/JSON files of the given directories.

    Files that are not Kubernetes manifests (Helm charts' metadata, values and templates,
    kustomizations, Compose files) are skipped, each with a line in ``notes``.
    """
    notes = notes if notes is not None else []
    records: list[Record] = []
    with gc_paused():  # once for all files: re-enabling it after each one costs a full collection over the growing heap
        for path in paths:
            for file in manifest_files(path):
                records.extend(_manifest_records(file, notes, digests))
    return records


def _manifest_records(file: Path, notes: list[str], digests: dict[str, str] | None) -> list[Record]:
    reason = _NOT_MANIFESTS.get(file.name.lower())
    if reason is None and file.parent.name == "templates" and (file.parent.parent / "Chart.yaml").is_file():
        reason = "a Helm template; check the output of helm template"
    if reason is not None:
        notes.append(f"{file}: {reason}; skipped")
        return []
    text = _read(file, digests)
    try:
        return records_from_manifest_text(text, str(file), notes)
    except BadInputError:
        if "{{" not in text:
            raise
        # Go templating (Helm, Kustomize-less charts) is not YAML until rendered.
        notes.append(f"{file}: a template (it holds {{{{ }}}} and is not valid YAML); render it first; skipped")
        return []


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
