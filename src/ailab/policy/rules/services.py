"""The lab's services: MLflow with the basic-auth app, NO_PERMISSIONS by default, its admin
password only from a Secret and job execution off; Qdrant with an API key from a Secret and JWT RBAC.

How MLflow 3 behaves (read from the installed package, MLflow 3.17, ``mlflow/server``):

* ``mlflow server --app-name basic-auth`` enables authentication; without it every request is anonymous.
* The auth app reads its ini file from ``MLFLOW_AUTH_CONFIG_PATH``; without it, the packaged
  ``basic_auth.ini`` applies, whose ``default_permission`` is ``READ`` (every user reads every experiment).
* The admin password comes from ``MLFLOW_AUTH_ADMIN_PASSWORD`` or ``admin_password`` in that ini.
* Job execution (``mlflow.server.jobs``, a Huey worker that runs server-side jobs) is controlled by
  ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION`` and is **on by default**; there is no command-line flag.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ailab.policy.model import MISSING, Record, RuleContext, Violation, resource_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.images import parse_image
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, ContainerRef, containers
from ailab.policy.rules.helpers.strings import INI_SETTING
from ailab.policy.rules.helpers.tokens import CONFIG_MAP, K8S_SECRET
from ailab.policy.rules.helpers.values import ev, is_unknown, known_and_not, mapping

REDACTED = "<literal value, not shown>"
"""Evidence value for a credential written literally: the finding is its presence, and a report must not copy it."""

_MLFLOW_SERVER = re.compile(r"\bmlflow\s+server\b")
_BASIC_AUTH = re.compile(r"--app-name(?:=|\s+)basic-auth(?![\w-])")
_SERVICE = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.AI_ACT_CONFIDENTIALITY, c.ISO_ACCESS_CONTROL]
_WORKLOADS = list(WORKLOAD_TYPES)


def mlflow_servers(record: Record) -> list[ContainerRef]:
    """Containers that run ``mlflow server`` (in command, args, or a shell script in them)."""
    return [ref for ref in containers(record) if _MLFLOW_SERVER.search(ref.command_line())]


def qdrant_containers(record: Record) -> list[ContainerRef]:
    """Containers running the Qdrant image (``qdrant/qdrant`` from Docker Hub or a mirror)."""
    found = []
    for ref in containers(record):
        image = ref.image
        if isinstance(image, str) and not is_unknown(image):
            repository = parse_image(image).repository
            if repository == "qdrant/qdrant" or repository.endswith("/qdrant/qdrant"):
                found.append(ref)
    return found


def _env_value(ref: ContainerRef, name: str) -> tuple[str, Any, Any]:
    """``(path, value, valueFrom)`` of an environment variable; value :data:`MISSING` when not set; valueFrom
    None for a literal value, the placeholder when how it is set is hidden."""
    found = ref.env(name)
    if found is None:
        return f"{ref.path}.env[name={name}]", MISSING, None
    path, entry = found
    value_from = entry.get("valueFrom")
    if isinstance(value_from, Mapping) or is_unknown(value_from):
        return f"{path}.valueFrom", value_from, value_from
    return f"{path}.value", entry.get("value", MISSING), None


@resource_rule(
    id="AILAB-SVC-001",
    title="MLflow runs the basic-auth app",
    severity="critical",
    rationale=(
        "Without --app-name basic-auth the MLflow server has no authentication at all: anyone who reaches it "
        "reads and changes every audit's experiments, models and artifacts."
    ),
    remediation="Start the server as `mlflow server --app-name basic-auth ...` (command or args of the container).",
    types=_WORKLOADS,
    controls=[*_SERVICE, c.EUDPR_BY_DEFAULT, c.GDPR_BY_DEFAULT, c.ISO_AUTHENTICATION],
)
def mlflow_basic_auth(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in mlflow_servers(record):
        if not _BASIC_AUTH.search(ref.command_line()) and not ref.command_hidden:
            # The command line decides: show args when the server is configured there, else the command.
            key = "args" if "args" in ref.container else "command"
            yield Violation(
                f"MLflow server {ref.name} runs without the basic-auth app",
                (ev(f"{ref.path}.{key}", ref.container.get(key, MISSING)),),
            )


def _ini_texts(record: Record) -> Iterator[tuple[str, str]]:
    """``(path, text)`` of ConfigMap/Secret entries that look like an MLflow auth ini (``[mlflow]`` section)."""
    sections = ("data", "stringData") if record.type == K8S_SECRET else ("data",)
    for section in sections:
        data = record.properties.get(section)
        for key, value in mapping(data).items():
            if not isinstance(value, str) or is_unknown(value):
                continue
            text = value
            if record.type == K8S_SECRET and section == "data":
                try:
                    text = base64.b64decode(value, validate=True).decode("utf-8", "replace")
                except (binascii.Error, ValueError):
                    continue
            if "[mlflow]" in text:
                yield f"{section}.{key}", text


def _ini(text: str) -> dict[str, str]:
    return {match.group(1): match.group(2) for match in INI_SETTING.finditer(text)}


@resource_rule(
    id="AILAB-SVC-002",
    title="MLflow grants no permission by default (NO_PERMISSIONS)",
    severity="critical",
    rationale=(
        "With the packaged default (READ) every MLflow user, including every auditor, reads every other audit's "
        "experiments; NO_PERMISSIONS makes each experiment visible only to those granted it."
    ),
    remediation=(
        "Mount an auth ini with `default_permission = NO_PERMISSIONS` and point MLFLOW_AUTH_CONFIG_PATH at it in "
        "the MLflow server container (lab.mlflow.default_permission is fixed to NO_PERMISSIONS)."
    ),
    types=[*_WORKLOADS, CONFIG_MAP, K8S_SECRET],
    controls=[*_SERVICE, c.EUDPR_BY_DEFAULT, c.GDPR_BY_DEFAULT, c.ISO_ACCESS_RESTRICTION],
)
def mlflow_default_permission(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.type in (CONFIG_MAP, K8S_SECRET):
        for path, text in _ini_texts(record):
            value = _ini(text).get("default_permission", MISSING)
            if value != "NO_PERMISSIONS":
                yield Violation(
                    f"MLflow auth configuration {record.name} sets default_permission = {value}",
                    (ev(f"{path}:default_permission", value),),
                )
        return
    for ref in mlflow_servers(record):
        path, value, _ = _env_value(ref, "MLFLOW_AUTH_CONFIG_PATH")
        if value is MISSING:
            yield Violation(
                f"MLflow server {ref.name} sets no MLFLOW_AUTH_CONFIG_PATH, so the packaged default_permission = READ applies",
                (ev(path, value),),
            )


@resource_rule(
    id="AILAB-SVC-003",
    title="The MLflow admin password comes only from a Secret",
    severity="high",
    rationale=(
        "A password written into a Deployment or a ConfigMap is readable by anyone who may read those objects "
        "(and lands in manifests, diffs and logs); a secretKeyRef keeps it in a Secret, encrypted and access-controlled."
    ),
    remediation=(
        "Set MLFLOW_AUTH_ADMIN_PASSWORD with valueFrom.secretKeyRef, or keep admin_password only in an auth ini "
        "stored in a Secret; never in env value, a ConfigMap or a configMapKeyRef."
    ),
    types=[*_WORKLOADS, CONFIG_MAP],
    controls=[*_SERVICE, c.ISO_AUTHENTICATION, c.NSA_SECRETS],
)
def mlflow_admin_password_secret(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.type == CONFIG_MAP:
        for path, text in _ini_texts(record):
            if _ini(text).get("admin_password"):
                yield Violation(
                    f"ConfigMap {record.name} holds the MLflow admin password", (ev(f"{path}:admin_password", REDACTED),)
                )
        return
    for ref in containers(record):
        path, value, value_from = _env_value(ref, "MLFLOW_AUTH_ADMIN_PASSWORD")
        if value is MISSING or is_unknown(value_from):
            continue
        if value_from is None:
            yield Violation(f"Container {ref.name} sets the MLflow admin password literally", (ev(path, REDACTED),))
        elif "secretKeyRef" not in value_from:
            yield Violation(
                f"Container {ref.name} takes the MLflow admin password from outside a Secret", (ev(path, value_from),)
            )


@resource_rule(
    id="AILAB-SVC-004",
    title="MLflow server job execution is disabled",
    severity="high",
    rationale=(
        "Recent MLflow 3 releases run server-side jobs by default (MLFLOW_SERVER_ENABLE_JOB_EXECUTION defaults to true "
        "in 3.17): work triggered through the API runs inside the tracking server, next to its database credentials."
    ),
    remediation='Set MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false" in the MLflow server container\'s environment.',
    types=_WORKLOADS,
    controls=[*_SERVICE, c.ISO_CONFIGURATION],
)
def mlflow_jobs_disabled(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in mlflow_servers(record):
        path, value, value_from = _env_value(ref, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION")
        if value_from is None and known_and_not(value, False):
            yield Violation(f"MLflow server {ref.name} leaves job execution enabled", (ev(path, value),))


@resource_rule(
    id="AILAB-SVC-005",
    title="Qdrant requires an API key taken from a Secret",
    severity="critical",
    rationale=(
        "Without QDRANT__SERVICE__API_KEY Qdrant answers anyone who reaches it, and every sandbox could read every "
        "collection; written literally, the key is readable from the Deployment."
    ),
    remediation="Set QDRANT__SERVICE__API_KEY with valueFrom.secretKeyRef (or envFrom a Secret) in the Qdrant container.",
    types=_WORKLOADS,
    controls=[*_SERVICE, c.ISO_AUTHENTICATION, c.NSA_SECRETS],
)
def qdrant_api_key(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in qdrant_containers(record):
        path, value, value_from = _env_value(ref, "QDRANT__SERVICE__API_KEY")
        if value is MISSING:
            if not ref.env_from_secret():  # a whole Secret imported as environment may carry the key
                yield Violation(f"Qdrant container {ref.name} sets no API key", (ev(path, value),))
        elif is_unknown(value_from):
            continue
        elif value_from is None:
            yield Violation(f"Qdrant container {ref.name} sets its API key literally", (ev(path, REDACTED),))
        elif "secretKeyRef" not in value_from:
            yield Violation(f"Qdrant container {ref.name} takes its API key from outside a Secret", (ev(path, value_from),))


@resource_rule(
    id="AILAB-SVC-006",
    title="Qdrant enforces JWT role-based access",
    severity="high",
    rationale=(
        "Sandboxes get JWTs scoped to their own collection; unless QDRANT__SERVICE__JWT_RBAC is true Qdrant "
        "ignores the token's scope and a sandbox token could reach other audits' vectors."
    ),
    remediation='Set QDRANT__SERVICE__JWT_RBAC="true" in the Qdrant container\'s environment.',
    types=_WORKLOADS,
    controls=[*_SERVICE, c.ISO_ACCESS_RESTRICTION],
)
def qdrant_jwt_rbac(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in qdrant_containers(record):
        path, value, value_from = _env_value(ref, "QDRANT__SERVICE__JWT_RBAC")
        if value_from is None and known_and_not(value, True):
            yield Violation(f"Qdrant container {ref.name} does not enforce JWT RBAC", (ev(path, value),))
