"""Waivers: justified, approved, time-limited exceptions to a rule for selected resources.

A waivers file is YAML::

    waivers:
      - rule: AILAB-K8S-012
        selector: {name: "mlflow-*", type: "kubernetes:apps/v1:Deployment"}
        justification: MLflow's image needs a writable /tmp until 3.2 ships; tracked in LAB-118.
        approver: jane.doe@example.europa.eu
        expires: 2026-03-31

Every field is required, and a selector needs at least one of ``urn`` (exact), ``name``
(a glob) and ``type`` (exact); all given must match. A waiver is valid through its expiry
date. An expired waiver no longer waives; the engine reports it, and reports a waiver that
matched nothing as unused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ailab.errors import BadInputError
from ailab.policy.model import Record
from ailab.safeload import Document, load_yaml_file

_FIELDS = ("rule", "selector", "justification", "approver", "expires")
_SELECTOR_FIELDS = ("urn", "name", "type")


@dataclass(frozen=True)
class Selector:
    """Which resources a waiver covers: every given field must match."""

    urn: str | None = None
    name: str | None = None
    """A glob (``mlflow-*``)."""
    type: str | None = None

    def matches(self, record: Record | None) -> bool:
        if record is None:
            return False
        return (
            (self.urn is None or record.urn == self.urn)
            and (self.type is None or record.type == self.type)
            and (self.name is None or fnmatchcase(record.name, self.name))
        )

    def to_json(self) -> dict[str, str]:
        return {key: value for key in _SELECTOR_FIELDS if (value := getattr(self, key)) is not None}

    def describe(self) -> str:
        """``name: mlflow-*, type: kubernetes:apps/v1:Deployment``, for people."""
        return ", ".join(f"{key}: {value}" for key, value in self.to_json().items())


@dataclass(frozen=True)
class Waiver:
    rule_id: str
    selector: Selector
    justification: str
    approver: str
    expires: dt.date
    source: str = "waivers"
    line: int = 1

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "selector": self.selector.to_json(),
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
            "source": self.location,
        }


class WaiverState(StrEnum):
    ACTIVE = "active"
    """Valid, and waived at least one finding."""
    UNUSED = "unused"
    """Valid, but matched no finding: the exception may no longer be needed."""
    EXPIRED = "expired"
    """Past its expiry date: it waives nothing."""
    NOT_EVALUATED = "not-evaluated"
    """Its rule was not part of this check (``--framework``)."""


@dataclass(frozen=True)
class WaiverUse:
    """What one waiver did in one evaluation."""

    waiver: Waiver
    state: WaiverState
    matched: int
    """Findings it waived, or for an expired waiver, would have waived."""


def load_waivers(path: Path, known_rules: Collection[str]) -> list[Waiver]:
    """Read and validate a waivers file; an unknown rule id or a missing field is a :class:`BadInputError`."""
    documents = load_yaml_file(path)
    if not documents:
        return []
    if len(documents) > 1:
        raise BadInputError(f"{path}:{documents[1].line}: a waivers file holds one YAML document; merge them")
    return parse_waivers(documents[0], known_rules)


def parse_waivers(document: Document, known_rules: Collection[str]) -> list[Waiver]:
    data = document.data
    entries = data.get("waivers") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise BadInputError(
            f"{document.source}:{document.line}: expected a mapping with a 'waivers' list; see policies/waivers.example.yaml"
        )
    return [_waiver(entry, index, document, known_rules) for index, entry in enumerate(entries)]


def _waiver(entry: Any, index: int, document: Document, known_rules: Collection[str]) -> Waiver:
    line = document.line_of(("waivers", index))
    where = f"{document.source}:{line}: waiver {index + 1}"
    if not isinstance(entry, Mapping):
        raise BadInputError(f"{where}: expected a mapping with {', '.join(_FIELDS)}")
    unknown = sorted(set(map(str, entry)) - set(_FIELDS))
    if unknown:
        raise BadInputError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(_FIELDS)}")
    missing = [name for name in _FIELDS if entry.get(name) in (None, "", {})]
    if missing:
        raise BadInputError(f"{where}: {', '.join(missing)} required; a waiver needs {', '.join(_FIELDS)}")
    rule_id = entry["rule"]
    if not isinstance(rule_id, str) or rule_id not in known_rules:  # a list or mapping cannot be looked up
        raise BadInputError(f"{where}: unknown rule {rule_id!r}; list the rules with ailab policy rules")
    for name in ("justification", "approver"):
        if not isinstance(entry[name], str) or not entry[name].strip():
            raise BadInputError(f"{where}: {name} must be text")
    return Waiver(
        rule_id=rule_id,
        selector=_selector(entry["selector"], where),
        justification=entry["justification"].strip(),
        approver=entry["approver"].strip(),
        expires=_date(entry["expires"], where),
        source=document.source,
        line=line,
    )


def _selector(value: Any, where: str) -> Selector:
    if not isinstance(value, Mapping):
        raise BadInputError(f"{where}: selector must be a mapping with urn, name and/or type")
    unknown = sorted(set(map(str, value)) - set(_SELECTOR_FIELDS))
    if unknown:
        raise BadInputError(
            f"{where}: unknown selector field(s) {', '.join(map(repr, unknown))}; allowed: urn, name (glob), type"
        )
    fields = {key: value.get(key) for key in _SELECTOR_FIELDS}
    if any(item is not None and not isinstance(item, str) for item in fields.values()):
        raise BadInputError(f"{where}: selector values must be text")
    if not any(fields.values()):
        raise BadInputError(f"{where}: selector needs at least one of urn, name, type")
    return Selector(**fields)


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BadInputError(f"{where}: expires {value!r} is not a date; write YYYY-MM-DD") from None
