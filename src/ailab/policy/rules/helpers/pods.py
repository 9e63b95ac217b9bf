"""Pod specs and containers of every workload kind, as the rules read them (security contexts, environment, images)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ailab.policy.model import MISSING, PLACEHOLDERS, Hidden, Record, hidden
from ailab.policy.rules.helpers.tokens import (
    CRON_JOB,
    DAEMON_SET,
    DEPLOYMENT,
    DEPLOYMENT_CONFIG,
    JOB,
    POD,
    REPLICA_SET,
    REPLICATION_CONTROLLER,
    STATEFUL_SET,
)
from ailab.policy.rules.helpers.values import dig, elements, hides, is_unknown, mapping, strings

# Where each workload kind keeps its pod spec, as key paths (walked directly: no path parsing).
_POD_SPEC_KEYS: dict[str, tuple[str, ...]] = {
    POD: ("spec",),
    DEPLOYMENT: ("spec", "template", "spec"),
    STATEFUL_SET: ("spec", "template", "spec"),
    DAEMON_SET: ("spec", "template", "spec"),
    REPLICA_SET: ("spec", "template", "spec"),
    REPLICATION_CONTROLLER: ("spec", "template", "spec"),
    JOB: ("spec", "template", "spec"),
    CRON_JOB: ("spec", "jobTemplate", "spec", "template", "spec"),
    DEPLOYMENT_CONFIG: ("spec", "template", "spec"),
}
_POD_SPEC_PATHS = {type_: ".".join(path) for type_, path in _POD_SPEC_KEYS.items()}
WORKLOAD_TYPES: tuple[str, ...] = tuple(_POD_SPEC_KEYS)
"""Every Kubernetes kind that carries a pod template (or is a pod)."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True, slots=True)
class PodSpec:
    """A workload's pod spec and its property path (``spec.template.spec``)."""

    path: str
    spec: Mapping[str, Any]

    def field(self, key: str) -> tuple[str, Any]:
        """``(path, value)`` of a pod spec field; value :data:`MISSING` when absent."""
        return f"{self.path}.{key}", self.spec.get(key, MISSING)

    @property
    def security_context(self) -> Mapping[str, Any]:
        return mapping(self.spec.get("securityContext"))


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """One container of a workload, with the paths needed for evidence."""

    path: str
    """e.g. ``spec.template.spec.containers[0]``"""
    container: Mapping[str, Any]
    pod: PodSpec
    list_name: str = "containers"
    """``initContainers``, ``containers`` or ``ephemeralContainers``."""

    @property
    def name(self) -> str:
        name = self.container.get("name")
        return name if isinstance(name, str) else "?"

    @property
    def security_context(self) -> Mapping[str, Any]:
        return mapping(self.container.get("securityContext"))

    def own(self, key: str) -> tuple[str, Any]:
        """A container-only security setting (``privileged``, ``capabilities``, ...): ``(path, value)``."""
        return f"{self.path}.securityContext.{key}", self.security_context.get(key, MISSING)

    def effective(self, key: str) -> tuple[str, Any]:
        """A setting the container inherits from the pod unless it sets its own (``runAsNonRoot``, ...).

        A hidden security context may set it: the value is then the placeholder.
        """
        own = self.security_context
        if key in own or type(own) is Hidden:
            return f"{self.path}.securityContext.{key}", own[key]
        pod = self.pod.security_context
        if key in pod or type(pod) is Hidden:
            return f"{self.pod.path}.securityContext.{key}", pod[key]
        return f"{self.path}.securityContext.{key}", MISSING

    def env(self, name: str) -> tuple[str, Mapping[str, Any]] | None:
        """The ``env`` entry called ``name`` as ``(path, entry)``; the last one wins, as in Kubernetes.

        Where the list, an entry or an entry's name is hidden and no visible entry follows, the variable may
        be set there: the entry is then :class:`~ailab.policy.model.Hidden` (every field reads as the placeholder).
        """
        found: tuple[str, Mapping[str, Any]] | None = None
        entries = self.container.get("env")
        placeholder = hidden(entries)
        if placeholder is not None:
            return f"{self.path}.env", mapping(placeholder)
        if isinstance(entries, list):
            for index, entry in enumerate(entries):
                entry_name = mapping(entry).get("name")  # a hidden entry's name is hidden
                if entry_name == name:
                    found = (f"{self.path}.env[{index}]", entry)
                elif type(entry_name) is str and entry_name in PLACEHOLDERS:
                    found = (f"{self.path}.env[{index}]", mapping(entry_name))
        return found

    def env_from_secret(self) -> bool:
        """True when the container imports, or may import (a hidden ``envFrom`` or source), a whole Secret as
        environment (``envFrom[].secretRef``)."""
        return any(is_unknown(source) or "secretRef" in mapping(source) for source in elements(self.container.get("envFrom")))

    def command_line(self) -> str:
        """``command`` and ``args`` joined with spaces (shell ``-c`` scripts included); hidden parts as placeholders."""
        parts = strings(self.container.get("command")) + strings(self.container.get("args"))
        return " ".join(parts)

    @property
    def command_hidden(self) -> bool:
        """True when ``command`` or ``args``, or one of their items, is hidden: the command line is known only in part."""
        return hides(self.container.get("command")) or hides(self.container.get("args"))

    @property
    def image(self) -> Any:
        return self.container.get("image", MISSING)


def pod_spec(record: Record) -> PodSpec | None:
    """The pod spec of a workload record (any kind in :data:`WORKLOAD_TYPES`), else None."""
    path = _POD_SPEC_KEYS.get(record.type)
    if path is None:
        return None
    spec = dig(record.properties, *path)
    return PodSpec(_POD_SPEC_PATHS[record.type], spec) if isinstance(spec, Mapping) else None


# The engine runs every rule for one record before moving to the next, and about twenty rules ask for
# the same record's containers: remembering the last answer (by identity) saves most of the walking.
_last_containers: tuple[Record | None, tuple[ContainerRef, ...]] = (None, ())


def containers(record: Record, lists: Sequence[str] = CONTAINER_LISTS) -> list[ContainerRef]:
    """Every container of a workload (init, regular and ephemeral by default), with its path."""
    global _last_containers
    cached_record, found = _last_containers
    if cached_record is not record:
        found = _all_containers(record)
        _last_containers = (record, found)
    if lists is CONTAINER_LISTS:
        return list(found)
    return [ref for ref in found if ref.list_name in lists]


def _all_containers(record: Record) -> tuple[ContainerRef, ...]:
    pod = pod_spec(record)
    if pod is None:
        return ()
    found: list[ContainerRef] = []
    for list_name in CONTAINER_LISTS:
        items = pod.spec.get(list_name)
        if isinstance(items, list):
            for index, container in enumerate(items):
                if isinstance(container, Mapping):
                    found.append(ContainerRef(f"{pod.path}.{list_name}[{index}]", container, pod, list_name))
    return tuple(found)
