"""Namespaces: sandbox namespaces, the namespace of a record, and records grouped by namespace (hidden ones apart)."""

from __future__ import annotations

from ailab.policy.model import Record, RecordSet
from ailab.policy.rules.helpers.tokens import NAMESPACE
from ailab.policy.rules.helpers.values import is_unknown
from ailab.spec import labels as keys
from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX


def is_sandbox_namespace(namespace: Record) -> bool:
    """A sandbox namespace is one labelled with an audit id (the label the sandbox program sets).

    A namespace whose labels are hidden is not taken for one: being a sandbox brings obligations (quotas,
    isolation, expiry), which no rule imposes on what it cannot see.
    """
    return keys.AUDIT_ID in namespace.labels


def managed_by_ailab(record: Record) -> bool:
    """Whether ``record`` carries the label ailab puts on everything it creates (``app.kubernetes.io/managed-by: ailab``)."""
    return record.labels.get(keys.MANAGED_BY) == "ailab"


def looks_like_sandbox(namespace: Record) -> bool:
    """A namespace that is a sandbox by ailab's marks, whether or not it carries the audit-id label (hidden
    marks, as in :func:`is_sandbox_namespace`, make none).

    The name ``audit-*`` alone is no mark: other teams' manifests use it too. It counts on a namespace
    ailab manages (``app.kubernetes.io/managed-by: ailab``); ailab's own ``ailab.eu/*`` keys count anywhere.
    """
    name = namespace.get("metadata.name")
    return (
        (isinstance(name, str) and name.startswith(SANDBOX_NAMESPACE_PREFIX) and managed_by_ailab(namespace))
        or keys.SANDBOX_PROFILE in namespace.labels
        or keys.EXPIRES_AT in namespace.annotations
        or keys.AUDIT_ID in namespace.labels
    )


def namespace_name(record: Record) -> str | None:
    """The name of a Namespace record: its ``metadata.name`` when known, else None (Pulumi auto-names a namespace
    without one, so its logical name is not its name)."""
    name = record.get("metadata.name")
    if isinstance(name, str) and not is_unknown(name):
        return name
    return None


def namespaces(records: RecordSet) -> dict[str, Record]:
    """Namespace records by name (unnamed and unknown names left out)."""
    found: dict[str, Record] = {}
    for record in records.of_type(NAMESPACE):
        name = namespace_name(record)
        if name is not None:
            found[name] = record
    return found


def sandbox_namespaces(records: RecordSet) -> dict[str, Record]:
    """The sandbox namespaces (:func:`is_sandbox_namespace`) by name."""
    return {name: namespace for name, namespace in namespaces(records).items() if is_sandbox_namespace(namespace)}


class Grouped(dict[str, list[Record]]):
    """Records grouped by something read from them (their namespace, the bucket they configure), and apart, as
    ``unplaced``, those for which it is hidden: they may belong to any group.

    Iterating gives the known groups only. A rule that concludes a group has no record of the kind asks
    :meth:`lacks`; one that looks for a record of the group meeting a condition looks through :meth:`candidates`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unplaced: list[Record] = []

    def lacks(self, key: str) -> bool:
        """True when no record is in group ``key`` and none may be (no record is unplaced)."""
        return key not in self and not self.unplaced

    def candidates(self, key: str) -> list[Record]:
        """The records of group ``key``, then those that may be in it (the unplaced ones)."""
        return [*self.get(key, ()), *self.unplaced]


def by_namespace(records: RecordSet, *types: str) -> Grouped:
    """Records of ``types`` grouped by their known namespace; those whose namespace is hidden are unplaced
    (records without one are left out)."""
    grouped = Grouped()
    for record in records.of_type(*types):
        namespace = record.namespace
        if namespace is None:
            continue
        if is_unknown(namespace):
            grouped.unplaced.append(record)
        else:
            grouped.setdefault(namespace, []).append(record)
    return grouped
