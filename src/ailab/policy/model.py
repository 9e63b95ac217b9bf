"""The policy engine's vocabulary: records, rules, controls, violations.

Rules are written once against generic :class:`Record` s keyed by Pulumi type tokens
(``kubernetes:apps/v1:Deployment``, ``aws:s3/bucketPolicy:BucketPolicy``); every input
format (offline plan, ``pulumi preview --json``, ``pulumi stack export``, Kubernetes
manifests) is loaded into these records, so one rule serves them all.

This module knows nothing of ``ailab.infra`` or ``ailab.sandbox``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypedDict, Unpack, overload

from ailab.errors import BadInputError
from ailab.formats import SECRET, UNKNOWN
from ailab.spec.constants import DEFAULT_REGISTRIES
from ailab.spec.regions import EU_REGIONS

if TYPE_CHECKING:
    from ailab.spec.model import LabSpec


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.lower())
        except ValueError:
            raise BadInputError(f"severity {text!r}: use one of low, medium, high, critical") from None


_SEVERITY_RANK = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}

FRAMEWORKS: dict[str, str] = {
    "eudpr": "Regulation (EU) 2018/1725 (EUDPR)",
    "gdpr": "Regulation (EU) 2016/679 (GDPR)",
    "ai-act": "Regulation (EU) 2024/1689 (AI Act)",
    "iso27001": "ISO/IEC 27001:2022 Annex A",
    "cis-k8s": "CIS Kubernetes Benchmark",
    "cis-eks": "CIS Amazon EKS Benchmark",
    "nsa-cisa": "NSA/CISA Kubernetes Hardening Guidance",
}
"""Framework keys (used on the command line: ``--framework eudpr``) and their full names."""


@dataclass(frozen=True, order=True)
class Control:
    """One control of one framework a rule serves, e.g. ``Control("eudpr", "Art. 33(1)(a)", "Security of processing")``."""

    framework: str
    ref: str
    title: str = ""

    def __post_init__(self) -> None:
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {self.framework!r}; known: {', '.join(FRAMEWORKS)}")

    def label(self) -> str:
        return f"{FRAMEWORKS[self.framework]} {self.ref}"


PLACEHOLDERS = frozenset({SECRET, UNKNOWN})
"""What the loaders put in place of secret values and of values unknown until deployment; rules never decide on either."""

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_EVIDENCE_SEGMENT = re.compile(r'\["([^"]*)"\]|\[(\d+)\]|([^.\[\]]+)')
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>", "__bool__": lambda self: False})()
"""Returned by :meth:`Record.get` for a path that is absent (distinct from an explicit null)."""


class Hidden(Mapping[str, Any]):
    """An object Pulumi cannot show: a placeholder stood where a mapping belongs (``metadata: "[unknown]"``).

    Hidden is not absent. Every field read from a hidden object is hidden too: ``get`` and ``[]`` give the
    placeholder back (never a default), so a rule that skips placeholder values skips whatever the object
    might hold. It lists no keys and contains none, so code that enumerates keys or tests membership
    ("is ``hostPath`` set?") finds nothing there, and code that would conclude absence from that must first
    ask whether the object is hidden (``is_unknown`` in the rule helpers).
    """

    __slots__ = ("placeholder",)

    def __init__(self, placeholder: str) -> None:
        self.placeholder = placeholder

    def __getitem__(self, key: str) -> str:
        return self.placeholder

    def get(self, key: str, default: Any = None) -> str:
        return self.placeholder

    def __contains__(self, key: object) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Hidden) and other.placeholder == self.placeholder

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Hidden({self.placeholder!r})"


_HIDDEN = {placeholder: Hidden(placeholder) for placeholder in PLACEHOLDERS}


def hidden(value: Any) -> str | None:
    """The placeholder when ``value`` is hidden (a placeholder string or a :class:`Hidden` object), else None."""
    if isinstance(value, str):
        return value if value in PLACEHOLDERS else None
    return value.placeholder if type(value) is Hidden else None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping; a :class:`Hidden` one for a placeholder; else an empty one (absent)."""
    if type(value) is dict or isinstance(value, Mapping):  # rules call this for most records: plain dicts first
        return value
    if type(value) is str and value in PLACEHOLDERS:
        return _HIDDEN[value]
    return {}


def _below(value: Any) -> Any:
    """What a path below ``value`` reads when ``value`` has no such key or index: its placeholder if hidden."""
    placeholder = hidden(value)
    return MISSING if placeholder is None else placeholder


@lru_cache(maxsize=8192)
def _segments(path: str) -> tuple[str | int, ...]:
    return tuple(key if index is None else int(index) for key, index in (m.groups() for m in _SEGMENT.finditer(path)))


@lru_cache(maxsize=4096)  # rules cite the same few hundred paths over and over
def evidence_segments(path: str) -> tuple[str | int, ...]:
    """The keys of an evidence path, quoted keys included: ``metadata.labels["a.b/c"]`` → ``("metadata", "labels", "a.b/c")``."""
    segments: list[str | int] = []
    for quoted, index, key in _EVIDENCE_SEGMENT.findall(path):
        if index:
            segments.append(int(index))
        else:
            segments.append(quoted or key)
    return tuple(segments)


def get_path(data: Any, path: str) -> Any:
    """``get_path(d, "spec.containers[0].image")``; :data:`MISSING` where the path does not exist.

    A path that runs into a hidden value (``spec: "[unknown]"``) reads that placeholder: what lies below a
    hidden value is hidden, not absent.
    """
    current = data
    # Rules call this for every record: parsed paths are cached, and plain dicts skip the Mapping ABC check.
    for segment in _segments(path):
        if type(segment) is int:
            if not isinstance(current, list) or segment >= len(current):
                return _below(current)
            current = current[segment]
        elif type(current) is dict:
            current = current.get(segment, MISSING)
            if current is MISSING:
                return MISSING
        elif isinstance(current, Mapping) and segment in current:
            current = current[segment]
        else:
            return _below(current)
    return current


@dataclass(frozen=True)
class Record:
    """One resource, whatever format it came from."""

    type: str
    name: str
    urn: str
    properties: Mapping[str, Any]
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    """URNs this resource depends on (plans, previews and state exports; empty for manifests)."""
    source: str | None = None
    """The file it was read from (manifests, plan and preview files)."""
    line: int | None = None
    """1-based line in ``source`` where the resource starts (manifests)."""
    provider: str | None = None
    """URN of the provider resource that manages it (plans, previews and state exports; ``None`` for manifests)."""
    lines: Mapping[tuple[str | int, ...], int] | None = None
    """Manifests: the line of every key and item of the document it was read from, by key path."""
    line_path: tuple[str | int, ...] = ()
    """Where the object sits in that document (``("items", 3)`` for the fourth item of a List)."""

    def line_of(self, path: str) -> int | None:
        """The line of a property (an evidence path), or of its nearest ancestor; :attr:`line` without line data."""
        if not self.lines:
            return self.line
        segments = (*self.line_path, *evidence_segments(path))
        for end in range(len(segments), len(self.line_path), -1):
            line = self.lines.get(segments[:end])
            if line is not None:
                return line
        return self.line

    def get(self, path: str) -> Any:
        return get_path(self.properties, path)

    @property
    def namespace(self) -> str | None:
        """``metadata.namespace``; the placeholder when it (or ``metadata``) is hidden; None when absent."""
        value = self.get("metadata.namespace")
        return value if isinstance(value, str) else None

    @property
    def labels(self) -> Mapping[str, str]:
        """``metadata.labels``: empty when absent, :class:`Hidden` when they (or ``metadata``) are hidden."""
        return as_mapping(self.get("metadata.labels"))

    @property
    def annotations(self) -> Mapping[str, str]:
        """``metadata.annotations``: empty when absent, :class:`Hidden` when they (or ``metadata``) are hidden."""
        return as_mapping(self.get("metadata.annotations"))


@dataclass(frozen=True)
class Evidence:
    """The property that decided a verdict and the value found there (:data:`MISSING` if absent)."""

    path: str
    value: Any


@dataclass(frozen=True)
class Violation:
    """What a rule's check yields for each problem it finds."""

    message: str
    evidence: tuple[Evidence, ...] = ()
    record: Record | None = None
    """Stack rules name the record at fault; resource rules may leave it (the checked record)."""


@dataclass(frozen=True)
class RuleContext:
    """Settings a rule may consult, never empty: the defaults are applied here, not in the rules.

    Build it with :meth:`from_lab` (the CLI, the sandbox gate and the CrossGuard pack all do).
    """

    allowed_registries: tuple[str, ...] = DEFAULT_REGISTRIES
    """Image prefixes the supply-chain rules accept."""
    allowed_regions: tuple[str, ...] = tuple(EU_REGIONS)
    """AWS regions the residency rules accept: the EU member states' regions unless overridden."""

    def __post_init__(self) -> None:
        if not self.allowed_registries or not self.allowed_regions:
            raise ValueError("a rule context needs at least one allowed registry and one allowed region")

    @classmethod
    def from_lab(
        cls, lab: LabSpec | None = None, *, allowed_registries: Iterable[str] = (), allowed_regions: Iterable[str] = ()
    ) -> RuleContext:
        """The context for checking ``lab`` (or, without one, a lab with the default settings).

        Registries: those given, else the lab's ``supply_chain.allowed_registries``, else
        :data:`~ailab.spec.constants.DEFAULT_REGISTRIES`. Regions: those given, else the EU's.
        """
        registries = tuple(allowed_registries) or (
            tuple(lab.supply_chain.allowed_registries) if lab is not None else DEFAULT_REGISTRIES
        )
        return cls(allowed_registries=registries, allowed_regions=tuple(allowed_regions) or tuple(EU_REGIONS))


class RecordSet(Sequence[Record]):
    """All records under check, indexed for stack rules."""

    def __init__(self, records: Iterable[Record]) -> None:
        self._records = list(records)
        self._by_type: dict[str, list[Record]] = {}
        for record in self._records:
            self._by_type.setdefault(record.type, []).append(record)

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self._records[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def of_type(self, *types: str) -> list[Record]:
        return [record for type_token in types for record in self._by_type.get(type_token, ())]


ResourceCheck = Callable[[Record, RuleContext], Iterable[Violation]]
StackCheck = Callable[[RecordSet, RuleContext], Iterable[Violation]]
SeverityName = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class RuleMeta:
    """What every rule declares: identity, documentation, where it applies, the controls it serves."""

    id: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    types: frozenset[str]
    """Type tokens it applies to; a token may be a glob (``aws:*``), and no tokens means every record."""
    controls: tuple[Control, ...]

    def frameworks(self) -> set[str]:
        return {control.framework for control in self.controls}

    def applies_to(self, type_token: str) -> bool:
        """True when the rule checks records of ``type_token``: an exact token, a glob (``aws:*``), or any type if none."""
        return not self.types or any(fnmatchcase(type_token, pattern) for pattern in self.types)


@dataclass(frozen=True)
class ResourceRule(RuleMeta):
    """A rule checking one record at a time (of the types it applies to)."""

    scope: ClassVar[Literal["resource"]] = "resource"
    check: ResourceCheck = field(compare=False, repr=False)


@dataclass(frozen=True)
class StackRule(RuleMeta):
    """A rule checking the records together; its violations name the record at fault."""

    scope: ClassVar[Literal["stack"]] = "stack"
    check: StackCheck = field(compare=False, repr=False)


Rule = ResourceRule | StackRule
"""A policy rule: its metadata and a check of the kind its scope says."""


def rule_source(rule: Rule) -> str:
    """Where ``rule`` is written, ``ailab/policy/rules/<theme>.py:<line>``: rule files are named by theme, not by id family."""
    code = getattr(rule.check, "__code__", None)
    if code is None:  # a callable object rather than a function
        return f"{rule.check.__module__.replace('.', '/')}.py"
    return f"{rule.check.__module__.replace('.', '/')}.py:{code.co_firstlineno}"


_RULE_ID = re.compile(r"^AILAB-[A-Z0-9]+-[0-9]{3}$")
REGISTRY: dict[str, Rule] = {}


class RuleDeclaration(TypedDict):
    """What a rule module writes in ``@resource_rule(...)`` / ``@stack_rule(...)``, checked by mypy."""

    id: str
    title: str
    severity: Severity | SeverityName
    rationale: str
    remediation: str
    types: Iterable[str]
    controls: Iterable[Control]


def _meta(declared: RuleDeclaration) -> tuple[str, str, Severity, str, str, frozenset[str], tuple[Control, ...]]:
    """A declaration's metadata in :class:`RuleMeta`'s field order, checked: an id like ``AILAB-K8S-012``, a control at least."""
    rule_id = declared["id"]
    if not _RULE_ID.fullmatch(rule_id):
        raise ValueError(f"rule id {rule_id!r} must look like AILAB-K8S-012")
    if rule_id in REGISTRY:
        raise ValueError(f"rule id {rule_id} registered twice")
    controls = tuple(declared["controls"])
    if not controls:
        raise ValueError(f"rule {rule_id} maps to no control")
    severity = Severity(declared["severity"])
    return (
        rule_id,
        declared["title"],
        severity,
        declared["rationale"],
        declared["remediation"],
        frozenset(declared["types"]),
        controls,
    )


def resource_rule(**declared: Unpack[RuleDeclaration]) -> Callable[[ResourceCheck], ResourceCheck]:
    """Register a rule checking one record at a time: ``@resource_rule(id=..., title=..., severity=..., ...)``."""
    meta = _meta(declared)

    def decorate(check: ResourceCheck) -> ResourceCheck:
        REGISTRY[meta[0]] = ResourceRule(*meta, check=check)
        return check

    return decorate


def stack_rule(**declared: Unpack[RuleDeclaration]) -> Callable[[StackCheck], StackCheck]:
    """Register a rule checking the records together (yields violations that name their record)."""
    meta = _meta(declared)

    def decorate(check: StackCheck) -> StackCheck:
        REGISTRY[meta[0]] = StackRule(*meta, check=check)
        return check

    return decorate


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by id (importing the rule catalogue on first use)."""
    import ailab.policy.rules  # noqa: F401  (registers the rules)

    return dict(sorted(REGISTRY.items()))
