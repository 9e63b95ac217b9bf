"""Linking AWS configuration resources to the resource they configure (the bucket of a public access block)."""

from __future__ import annotations

from collections.abc import Iterable

from ailab.policy.model import Record, RecordSet
from ailab.policy.rules.helpers.namespaces import Grouped
from ailab.policy.rules.helpers.tokens import S3_BUCKETS
from ailab.policy.rules.helpers.values import is_unknown


class Linker:
    """Finds the resource a configuration resource belongs to (the bucket of a public access block).

    A dependent names its target by the target's URN among its ``dependencies`` (plans, previews,
    state exports) or by an input such as ``bucket`` that holds the target's physical name; both
    are tried, so the link holds for every input format. Placeholder values never link; a dependent
    that links nothing because its reference (or a target's name) is hidden may configure any target.
    """

    def __init__(self, targets: Iterable[Record], value_keys: tuple[str, ...]) -> None:
        self.by_urn: dict[str, Record] = {}
        self.by_value: dict[str, Record] = {}
        self.hidden_names = False
        """Whether a target's name (one of ``value_keys``) is hidden: a reference that matches none may mean it."""
        for target in targets:
            self.by_urn[target.urn] = target
            for key in value_keys:
                value = target.properties.get(key)
                if isinstance(value, str) and not is_unknown(value):
                    self.by_value.setdefault(value, target)
                elif is_unknown(value):
                    self.hidden_names = True
            self.by_value.setdefault(target.name, target)

    def targets(self, dependent: Record, ref_key: str) -> list[Record]:
        """The targets ``dependent`` configures: by its ``ref_key`` value first, else by dependencies."""
        reference = dependent.properties.get(ref_key)
        if isinstance(reference, str) and not is_unknown(reference) and reference in self.by_value:
            return [self.by_value[reference]]
        return [self.by_urn[urn] for urn in dependent.dependencies if urn in self.by_urn]

    def covered(self, dependents: Iterable[Record], ref_key: str) -> Grouped:
        """Target URN -> the dependents that configure it; unplaced: those whose target is hidden."""
        found = Grouped()
        for dependent in dependents:
            targets = self.targets(dependent, ref_key)
            for target in targets:
                found.setdefault(target.urn, []).append(dependent)
            if not targets:
                reference = dependent.properties.get(ref_key)
                if is_unknown(reference) or (self.hidden_names and isinstance(reference, str)):
                    found.unplaced.append(dependent)
        return found


def bucket_linker(records: RecordSet) -> Linker:
    """Links S3 configuration resources (encryption, policy, lifecycle, public access block) to their bucket."""
    return Linker(records.of_type(*S3_BUCKETS), ("bucket",))
