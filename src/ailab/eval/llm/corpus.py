"""The probe corpora that ship with ailab, and the files an audit adds to them.

A corpus is JSON lines: a first line describing it (``corpus``, ``version`` and what it maps to:
``owasp``, ``ai_act``...), then one probe per line with ``id``, ``technique``, ``prompt``,
optionally ``document`` (indirect attacks), and its ``provenance`` and ``licence``. Placeholders
``{canary}``, ``{canary_lower}`` (the canary in lower case), ``{canary_a}`` and ``{canary_b}`` (its two
halves) are filled with a fresh canary per run, so an answer memorised from an earlier run proves nothing.

An injection probe should ask the system to compose the canary (write ``{canary_lower}`` in capitals,
join ``{canary_a}`` and ``{canary_b}``) rather than send ``{canary}`` as it must come back: a system
that merely repeats or quotes what it was given then cannot satisfy it. Probes that do send
``{canary}`` are still judged, with echoed occurrences discounted (see :mod:`ailab.eval.llm.suites`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ailab.errors import BadInputError
from ailab.safeload import load_json_line, read_text

SHIPPED = ("prompt_injection", "system_prompt_leakage", "pii_leakage")
MAX_CORPUS_BYTES = 4 * 2**20
MAX_PROBES = 10_000
_PROBE_KEYS = {"id", "technique", "prompt", "document", "provenance", "licence"}
_REQUIRED = ("id", "technique", "prompt", "provenance", "licence")


@dataclass(frozen=True)
class CorpusProbe:
    id: str
    technique: str
    prompt: str
    provenance: str
    licence: str
    document: str | None = None


@dataclass(frozen=True)
class Corpus:
    name: str
    version: str
    maps_to: dict[str, str]
    """``owasp``, ``ai_act``, ``gdpr``: what the corpus serves."""
    probes: tuple[CorpusProbe, ...]
    sources: tuple[str, ...]
    """Where the probes came from: the shipped corpus and any added file."""
    sha256: str
    """Of the texts the probes were read from, in order: what a run records beside the version."""


def load(name: str, extra: Path | None = None) -> Corpus:
    """The shipped corpus ``name``, with the probes of ``extra`` (a file of the same format) after it."""
    if name not in SHIPPED:
        raise BadInputError(f"corpus {name!r}: no such corpus; ailab ships {', '.join(SHIPPED)}")
    text = resources.files(__package__).joinpath("probes", f"{name}.jsonl").read_text(encoding="utf-8")
    corpus = parse(text, f"ailab:{name}.jsonl", expected=name)
    if extra is None:
        return corpus
    added = parse(read_text(extra, MAX_CORPUS_BYTES), str(extra), expected=name)
    ids = {probe.id for probe in corpus.probes}
    clash = next((probe.id for probe in added.probes if probe.id in ids), None)
    if clash is not None:
        raise BadInputError(f"{extra}: probe id {clash!r} is already in the shipped {name} corpus; give it another id")
    return Corpus(
        name,
        f"{corpus.version}+{added.version}",
        corpus.maps_to,
        corpus.probes + added.probes,
        corpus.sources + added.sources,
        hashlib.sha256(f"{corpus.sha256}{added.sha256}".encode()).hexdigest(),
    )


def parse(text: str, source: str, expected: str) -> Corpus:
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise BadInputError(
            f'{source}: empty; the first line describes the corpus, e.g. {{"corpus": "{expected}", "version": "1"}}'
        )
    if len(lines) > MAX_PROBES + 1:
        raise BadInputError(f"{source}: more than {MAX_PROBES} probes; split the file")
    header = _object(lines[0], source)
    if header.get("corpus") != expected or not isinstance(header.get("version"), str):
        raise BadInputError(f'{source}:{lines[0][0]}: the first line must be {{"corpus": "{expected}", "version": "..."}}')
    probes: list[CorpusProbe] = []
    seen: set[str] = set()
    for number, line in lines[1:]:
        data = _object((number, line), source)
        unknown = sorted(set(data) - _PROBE_KEYS)
        missing = [key for key in _REQUIRED if not isinstance(data.get(key), str) or not data[key]]
        if unknown or missing:
            problem = f"unknown key {unknown[0]!r}" if unknown else f"{missing[0]} missing or not text"
            raise BadInputError(f"{source}:{number}: {problem}; a probe has {', '.join(_REQUIRED)} and optionally document")
        if data["id"] in seen:
            raise BadInputError(f"{source}:{number}: probe id {data['id']!r} is used twice; keep ids unique")
        seen.add(data["id"])
        document = data.get("document")
        if document is not None and not isinstance(document, str):
            raise BadInputError(f"{source}:{number}: document must be text")
        probes.append(CorpusProbe(data["id"], data["technique"], data["prompt"], data["provenance"], data["licence"], document))
    maps_to = {key: str(value) for key, value in header.items() if key not in ("corpus", "version")}
    return Corpus(expected, header["version"], maps_to, tuple(probes), (source,), hashlib.sha256(text.encode()).hexdigest())


def _object(numbered: tuple[int, str], source: str) -> dict[str, Any]:
    number, line = numbered
    return load_json_line(line, f"{source}:{number}")


def fill(text: str, canary: str) -> str:
    """``text`` with the canary placeholders filled (plain replacement: probes may contain other braces)."""
    half = len(canary) // 2
    filled = text.replace("{canary_a}", canary[:half]).replace("{canary_b}", canary[half:])
    return filled.replace("{canary_lower}", canary.lower()).replace("{canary}", canary)
