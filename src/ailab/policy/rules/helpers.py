"""Accessors the rules share: Kubernetes type tokens, pod specs and containers of every workload
kind, security contexts, environment variables, images, namespaces, IAM policy documents, and
the linking of AWS resources to the resource they configure.

Everything here is written for speed (the catalogue checks 10,000 records in well under two
seconds): plain dictionary walks instead of :func:`ailab.policy.model.get_path` on hot paths,
regular expressions compiled once, and JSON documents parsed once per distinct text.

Values Pulumi cannot show are the strings ``[secret]`` and ``[unknown]``; :func:`is_unknown`
recognises them, and a rule never decides against a value it cannot see.

A placeholder may also stand for a whole object or list (``securityContext: "[unknown]"``). Hidden is
not absent, and the accessors here keep the two apart, so that the rules' existing checks for hidden
leaves cover hidden objects too:

* reading below a hidden value gives its placeholder, never :data:`MISSING` or a default
  (:func:`ailab.policy.model.get_path`, :func:`dig`, and :func:`mapping`, which turns a hidden object
  into a :class:`ailab.policy.model.Hidden` whose every field reads as the placeholder);
* a hidden list reads as a list of one hidden item (:func:`elements`, :func:`strings`, :func:`as_list`),
  which :func:`hides` recognises;
* a hidden object lists no keys and contains none, so a rule that would conclude absence by
  enumerating keys or testing membership asks :func:`is_unknown` (or :func:`hides`) first;
* records whose namespace, or link to the resource they configure, is hidden may belong to any
  group: :class:`Grouped` keeps them apart as ``unplaced``, and no group :meth:`Grouped.lacks` them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ailab.policy.model import MISSING, PLACEHOLDERS, Evidence, Hidden, Record, RecordSet, as_mapping, hidden
from ailab.spec import labels as keys
from ailab.spec.constants import SANDBOX_NAMESPACE_PREFIX

# --- Kubernetes type tokens (pulumi-kubernetes: kubernetes:<group or core>/<version>:<Kind>) ---------
NAMESPACE = "kubernetes:core/v1:Namespace"
POD = "kubernetes:core/v1:Pod"
REPLICATION_CONTROLLER = "kubernetes:core/v1:ReplicationController"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
K8S_SECRET = "kubernetes:core/v1:Secret"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

# --- AWS type tokens (pulumi-aws v7) ---------------------------------------------------------------
AWS_PROVIDER = "pulumi:providers:aws"
AWS_TYPES = "aws:*"
"""Every pulumi-aws resource: a glob, which the engine matches against type tokens."""
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_ENCRYPTION_CONFIGS = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_LIFECYCLE_CONFIGS = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
EKS_ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_SUBNET = "aws:ec2/subnet:Subnet"
EBS_VOLUME = "aws:ebs/volume:Volume"
EBS_ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def bucket_linker(records: RecordSet) -> Linker:
    """Links S3 configuration resources (encryption, policy, lifecycle, public access block) to their bucket."""
    return Linker(records.of_type(*S3_BUCKETS), ("bucket",))


def label_path(key: str) -> str:
    """Evidence path of a label (label keys contain dots and slashes, so they are quoted)."""
    return f'metadata.labels["{key}"]'


def annotation_path(key: str) -> str:
    return f'metadata.annotations["{key}"]'


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
}
_POD_SPEC_PATHS = {type_: ".".join(path) for type_, path in _POD_SPEC_KEYS.items()}
WORKLOAD_TYPES: tuple[str, ...] = tuple(_POD_SPEC_KEYS)
"""Every Kubernetes kind that carries a pod template (or is a pod)."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def is_unknown(value: Any) -> bool:
    """True for the placeholders of values Pulumi cannot show (``[secret]``, ``[unknown]``) and for a hidden object."""
    return value in PLACEHOLDERS if isinstance(value, str) else type(value) is Hidden


def hides(value: Any) -> bool:
    """True when a value, or any item of a list value, is a placeholder: a verdict on it would be a guess."""
    return is_unknown(value) or (isinstance(value, list) and any(is_unknown(item) for item in value))


def as_bool(value: Any) -> bool | None:
    """``True``/``False`` for booleans and their string forms (state exports stringify some); else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
    return None


def known_and_not(value: Any, wanted: bool) -> bool:
    """True when ``value`` is known and is not the boolean ``wanted`` (absent counts as not wanted); placeholders are not judged."""
    return not is_unknown(value) and as_bool(value) is not wanted


def as_list(value: Any) -> list[Any]:
    """A list for list-or-scalar fields (IAM ``Action``, ``Resource``); empty when absent; a placeholder stays one item."""
    if isinstance(value, list):
        return value
    if value is None or value is MISSING:
        return []
    return [value]


def dig(data: Any, *path: str) -> Any:
    """``data[a][b]...``; :data:`MISSING` where a key is absent or a level is not a mapping; the placeholder
    where a level is hidden."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            placeholder = hidden(data)
            return MISSING if placeholder is None else placeholder
        data = data[key]
    return data


mapping = as_mapping
"""``mapping(value)``: ``value`` when it is a mapping; a :class:`~ailab.policy.model.Hidden` one (every field reads
as the placeholder) when it is a placeholder; else an empty one (an optional sub-object that is absent)."""


def elements(value: Any) -> list[Any]:
    """``value`` when it is a list; a hidden list as one hidden item (``[placeholder]``); else an empty list."""
    if isinstance(value, list):
        return value
    placeholder = hidden(value)
    return [] if placeholder is None else [placeholder]


def strings(value: Any) -> list[str]:
    """The string items of a list (other items, and non-lists, give nothing); a hidden list gives its placeholder."""
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return [value] if type(value) is str and value in PLACEHOLDERS else []


def ev(path: str, value: Any) -> Evidence:
    return Evidence(path, value)


# --- pod specs and containers ---------------------------------------------------------------------


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


# --- images ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A container image reference, normalised the way the container runtime resolves it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """``registry/repository`` (``docker.io/library/postgres`` for ``postgres:16``)."""
        return f"{self.registry}/{self.repository}"


@lru_cache(maxsize=4096)
def parse_image(reference: str) -> ImageRef:
    """Split ``[registry/]repository[:tag][@digest]``; Docker Hub names get ``docker.io`` (and ``library/``)."""
    rest, _, digest = reference.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
        if "/" not in path:
            path = f"library/{path}"
    repository, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    return ImageRef(registry, repository, tag if colon else None, digest or None)


def registry_allowed(image: ImageRef, allowed: Iterable[str]) -> bool:
    """True when the image name lies under one of the allowed prefixes (whole path segments only)."""
    name = image.name
    for prefix in allowed:
        prefix = prefix.rstrip("/")
        if name == prefix or name.startswith(prefix + "/"):
            return True
    return False


# --- namespaces -----------------------------------------------------------------------------------


def is_sandbox_namespace(namespace: Record) -> bool:
    """A sandbox namespace is one labelled with an audit id (the label the sandbox program sets).

    A namespace whose labels are hidden is not taken for one: being a sandbox brings obligations (quotas,
    isolation, expiry), which no rule imposes on what it cannot see.
    """
    return keys.AUDIT_ID in namespace.labels


def looks_like_sandbox(namespace: Record) -> bool:
    """A namespace that is a sandbox by name or marks, whether or not it carries the audit-id label (hidden
    marks, as in :func:`is_sandbox_namespace`, make none)."""
    name = namespace.get("metadata.name")
    return (
        (isinstance(name, str) and name.startswith(SANDBOX_NAMESPACE_PREFIX))
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


# --- JSON documents (IAM and bucket policies) --------------------------------------------------------


@lru_cache(maxsize=2048)
def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def json_document(value: Any) -> Any:
    """A policy document given as a JSON string (parsed once per distinct text) or as an object."""
    if isinstance(value, str):
        return None if is_unknown(value) else _parse_json(value)
    return value if isinstance(value, Mapping) else None


def policy_statements(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """``(index, statement)`` of an IAM-style policy document; a single statement object counts as one."""
    document = json_document(value)
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement")
    if isinstance(statements, Mapping) or is_unknown(statements):
        return [(0, mapping(statements))]  # a hidden statement is a Hidden one: its every field reads as hidden
    return [(index, mapping(s)) for index, s in enumerate(elements(statements)) if isinstance(s, Mapping) or is_unknown(s)]


# --- linking AWS resources to the resource they configure -------------------------------------------


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


# --- string scanning ----------------------------------------------------------------------------------


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string leaf of a nested value with its property path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


INI_SETTING = re.compile(r"^[ \t]*([A-Za-z_]+)[ \t]*=[ \t]*(.*?)[ \t]*$", re.MULTILINE)
"""``key = value`` lines of an ini file (the MLflow auth configuration)."""
