"""The deployment order a plan, preview or state export records: what each resource waits for.

A resource waits for the URNs in its ``dependencies`` and for its provider; waiting for a
component resource means waiting for everything under it (the SDK expands such dependencies the
same way). The order is transitive: a Kubernetes object that waits for its provider, which waits
for a node group, waits for the node group. A parent is not an edge: the engine does not make a
child wait for what its parent waits for.
"""

from __future__ import annotations

from ailab.policy.model import Record, RecordSet


class DeploymentOrder:
    """The transitive predecessors of every record, worked out once per URN."""

    def __init__(self, records: RecordSet) -> None:
        self._by_urn = {record.urn: record for record in records}
        self._children: dict[str, list[str]] = {}
        for record in records:
            if record.parent is not None:
                self._children.setdefault(record.parent, []).append(record.urn)
        self._memo: dict[str, frozenset[str]] = {}

    def _direct(self, urn: str) -> list[str]:
        record = self._by_urn.get(urn)
        if record is None:
            return []
        edges = list(record.dependencies)
        if record.provider is not None:
            edges.append(record.provider)
        # A component waited for stands for its descendants.
        return [*edges, *(child for edge in edges for child in self._descendants(edge))]

    def _descendants(self, urn: str) -> list[str]:
        found, stack = [], list(self._children.get(urn, ()))
        while stack:
            child = stack.pop()
            found.append(child)
            stack.extend(self._children.get(child, ()))
        return found

    def waits_for(self, record: Record) -> frozenset[str]:
        """The URNs ``record`` is deployed after (directly or through others); cycles in bad input end the walk."""
        cached = self._memo.get(record.urn)
        if cached is not None:
            return cached
        seen: set[str] = set()
        stack = self._direct(record.urn)
        while stack:
            urn = stack.pop()
            if urn in seen:
                continue
            seen.add(urn)
            known = self._memo.get(urn)
            if known is not None:
                seen |= known
                continue
            stack.extend(self._direct(urn))
        seen.discard(record.urn)
        result = self._memo[record.urn] = frozenset(seen)
        return result

    def fully_known(self, record: Record) -> bool:
        """Whether every resource ``record`` waits for is among the records: an input that leaves some out (a
        provider the format does not list, a resource of another stack) hides what those wait for."""
        return all(urn in self._by_urn for urn in self.waits_for(record))
