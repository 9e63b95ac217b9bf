"""The offline plan's resource graph and its JSON format (``ailab.plan/v1``).

The format is documented in ``docs/plan-format.md`` and is what the policy engine reads.
It is stable: resources are sorted by URN, keys are fixed, secret values are the string
``[secret]`` and values unknown before deployment are ``[unknown]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ailab.errors import BadInputError
from ailab.formats import PLAN_FORMAT, STACK_TYPE


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registered, with the inputs it asked for."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None = None
    provider: str | None = None
    dependencies: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    """Resource options beyond ``protect``: ``retainOnDelete``, ``deleteBeforeReplace``, ``ignoreChanges``, ``additionalSecretOutputs``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "protect": self.protect,
            "options": self.options,
            "inputs": self.inputs,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedResource:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            custom=bool(data.get("custom", True)),
            parent=data.get("parent"),
            provider=data.get("provider"),
            dependencies=tuple(data.get("dependencies", ())),
            inputs=data.get("inputs") or {},
            protect=bool(data.get("protect", False)),
            options=data.get("options") or {},
        )


@dataclass(frozen=True)
class Plan:
    """Everything a program would create, as the engine would be asked for it."""

    project: str
    stack: str
    program: str
    resources: tuple[PlannedResource, ...]
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "project": self.project,
            "stack": self.stack,
            "program": self.program,
            "resources": [r.to_json() for r in sorted(self.resources, key=lambda r: r.urn)],
            "outputs": self.outputs,
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "plan") -> Plan:
        """Read a plan written by :meth:`to_json`; a wrong format is a one-line error."""
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise BadInputError(
                f"{source}: not an ailab plan (format {found!r}, expected {PLAN_FORMAT!r}); write one with ailab lab plan --json"
            )
        try:
            resources = tuple(PlannedResource.from_json(r) for r in data["resources"])
            return cls(data["project"], data["stack"], data.get("program", "lab"), resources, data.get("outputs") or {})
        except (KeyError, TypeError, AttributeError) as err:
            raise BadInputError(f"{source}: malformed plan ({err!s}); regenerate it with ailab lab plan --json") from None

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def children(self, urn: str | None) -> list[PlannedResource]:
        """Direct children of ``urn`` (``None``: the roots), sorted by type then name."""
        return sorted((r for r in self.resources if r.parent == urn), key=lambda r: (r.type, r.name))

    def custom_resources(self) -> Iterator[PlannedResource]:
        """Resources a provider manages (not components, not the stack)."""
        return (r for r in self.resources if r.custom)

    def count_by_type(self) -> Counter[str]:
        return Counter(r.type for r in self.resources if r.type != STACK_TYPE)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]
