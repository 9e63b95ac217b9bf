"""Reading ``Pulumi.yaml`` and ``stacks/Pulumi.<stack>.yaml`` exactly as the Pulumi CLI lays them out.

The offline plan and every CLI command read stack files through here, so that errors carry
``file:line`` and encrypted (``secure:``) values are handled without the passphrase: each is
replaced by a placeholder and remembered as a secret, and the program wraps it in
``pulumi.Output.secret`` so it prints as ``[secret]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from ailab.errors import BadInputError
from ailab.safeload import Document, load_yaml_file
from ailab.spec import stack_secrets
from ailab.spec.errors import format_errors, located_errors, model_at, render_path
from ailab.spec.lab_ca import ca_bundle_problem, lab_ca_bundle
from ailab.spec.model import LabSpec, Loc

LAB_KEY = "ailab:lab"
SECRET_PLACEHOLDER = "offline-plan-placeholder-for-an-encrypted-pulumi-secret"
"""Stands in for a ``secure:`` value: long enough to pass the spec's strength checks, never deployed."""

STACK_FILE_MAX_BYTES = 2**20
"""A lab's stack file is a few KiB; the cap bounds the parse of a hostile one long before the spec is validated."""
STACK_FILE_KEYS = {"config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"}
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class Project:
    """A Pulumi project directory: where ``Pulumi.yaml`` is and where its stack files live."""

    root: Path
    name: str
    stack_config_dir: Path

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        """Names of the stacks that have a stack file, sorted."""
        return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.stack_config_dir.glob("Pulumi.*.yaml"))


def find_project(start: Path | None = None) -> Project:
    """The project holding ``start`` (default: ``$AILAB_PROJECT_DIR`` or the working directory), searching upward."""
    origin = start or Path(os.environ.get("AILAB_PROJECT_DIR") or Path.cwd())
    for directory in (origin.resolve(), *origin.resolve().parents):
        project_file = directory / "Pulumi.yaml"
        if project_file.is_file():
            return _read_project(project_file)
    raise BadInputError(f"{origin}: no Pulumi.yaml here or above; run from the ailab project or set AILAB_PROJECT_DIR")


def _read_project(project_file: Path) -> Project:
    documents = load_yaml_file(project_file, max_bytes=STACK_FILE_MAX_BYTES)
    data = documents[0].data if documents else None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise BadInputError(f"{project_file}:1: a Pulumi project file needs a 'name'; add name: ailab")
    config_dir = data.get("stackConfigDir") or "."
    return Project(project_file.parent, data["name"], (project_file.parent / str(config_dir)).resolve())


@dataclass(frozen=True)
class StackConfig:
    """One stack file, parsed: its config with ``secure:`` values replaced by placeholders."""

    project: Project
    stack: str
    document: Document
    config: dict[str, Any]
    secret_keys: frozenset[str]
    """Config keys (``ailab:lab``) that held at least one encrypted value."""
    secret_paths: frozenset[tuple[str | int, ...]]
    """Paths, from the config key down, of every value that was ``secure:``."""

    @property
    def path(self) -> Path:
        return Path(self.document.source)

    def lab_value(self) -> Any:
        return self.config.get(LAB_KEY)


def check_stack_name(stack: str) -> str:
    if not _STACK_NAME.fullmatch(stack):
        raise BadInputError(f"stack {stack!r}: a stack name is letters, digits, '-', '_' and '.'; e.g. aws-eu")
    return stack


def read_stack(project: Project, stack: str) -> StackConfig:
    """Parse ``Pulumi.<stack>.yaml`` of ``project``; unknown top-level or ``ailab:`` keys are errors."""
    path = project.stack_file(check_stack_name(stack))
    if not path.is_file():
        known = ", ".join(project.stacks()) or "none"
        raise BadInputError(f"{path}: no such stack file; known stacks: {known}")
    documents = load_yaml_file(path, max_bytes=STACK_FILE_MAX_BYTES)
    if len(documents) != 1 or not isinstance(documents[0].data, dict):
        raise BadInputError(f"{path}:1: a stack file is one YAML mapping with a 'config' key")
    document = documents[0]
    for key in document.data:
        if key not in STACK_FILE_KEYS:
            allowed = ", ".join(sorted(STACK_FILE_KEYS))
            raise BadInputError(f"{path}:{document.line_of((key,))}: unknown top-level key {key!r}; allowed: {allowed}")
    raw_config = document.data.get("config") or {}
    if not isinstance(raw_config, dict):
        raise BadInputError(f"{path}:{document.line_of(('config',))}: 'config' must be a mapping of key: value")
    config: dict[str, Any] = {}
    ciphertexts: dict[tuple[str | int, ...], str] = {}
    raw_keys: dict[str, Any] = {}
    for raw_key, value in raw_config.items():
        key = raw_key if ":" in str(raw_key) else f"{project.name}:{raw_key}"
        namespace = key.split(":", 1)[0]
        if namespace == project.name and key != LAB_KEY:
            raise BadInputError(
                f"{path}:{document.line_of(('config', raw_key))}: unknown config key {raw_key!r}; ailab reads only {LAB_KEY}"
            )
        raw_keys[key] = raw_key
        config[key] = _replace_secure(value, (key,), ciphertexts)
    secret_paths = set(ciphertexts)
    _check_ciphertexts(path, document, ciphertexts, raw_keys)
    if LAB_KEY not in config:
        raise BadInputError(f"{path}:{document.line_of(('config',))}: no {LAB_KEY} key; add the lab specification under config")
    secret_keys = frozenset(str(p[0]) for p in secret_paths)
    return StackConfig(project, stack, document, config, secret_keys, frozenset(secret_paths))


def _replace_secure(value: Any, path: tuple[str | int, ...], found: dict[tuple[str | int, ...], str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            found[path] = value["secure"]
            return SECRET_PLACEHOLDER
        return {k: _replace_secure(v, (*path, k), found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, (*path, i), found) for i, v in enumerate(value)]
    return value


def _check_ciphertexts(
    path: Path, document: Document, ciphertexts: dict[tuple[str | int, ...], str], raw_keys: dict[str, Any]
) -> None:
    """Refuse now what ``pulumi up`` would refuse later: a ``secure:`` value that is no ciphertext, and a
    passphrase stack without the salt its key is derived from."""
    for (key, *rest), text in ciphertexts.items():
        if stack_secrets.parse_ciphertext(text) is None:
            shown = render_path(tuple(rest), str(key))
            raise BadInputError(
                f"{path}:{document.line_of(('config', raw_keys[str(key)], *rest))}: {shown}: secure value is not a Pulumi ciphertext "
                f"(v1:<nonce>:<ciphertext>); set it again with pulumi config set --secret --path '{shown}'"
            )
    if not ciphertexts or not stack_secrets.uses_passphrase_provider(document.data.get("secretsprovider")):
        return
    salt = document.data.get("encryptionsalt")
    if salt is None:
        raise BadInputError(
            f"{path}:1: secure values but no encryptionsalt, which the passphrase secrets provider derives its key from; "
            "restore it from where the file was copied, or create the stack anew (pulumi stack init) and set the secrets again"
        )
    if stack_secrets.parse_salt(str(salt)) is None:
        raise BadInputError(
            f"{path}:{document.line_of(('encryptionsalt',))}: encryptionsalt is not Pulumi's v1:<salt>:v1:<nonce>:<check>; "
            "restore it from where the file was copied"
        )


def example_secrets_warning(stack_config: StackConfig) -> str | None:
    """A warning when the stack's secrets are encrypted with the published example passphrase (None otherwise)."""
    salt_text = stack_config.document.data.get("encryptionsalt")
    salt = stack_secrets.parse_salt(str(salt_text)) if salt_text is not None else None
    return stack_secrets.example_secret_warning(salt, stack_config.stack) if salt else None


def secret_field_paths(spec: LabSpec) -> list[Loc]:
    """Paths of the secret-typed fields that are set in ``spec``."""
    found: list[Loc] = []

    def walk(node: Any, loc: Loc) -> None:
        if isinstance(node, SecretStr):
            found.append(loc)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name), (*loc, name))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*loc, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*loc, index))

    walk(spec, ())
    return found


def parse_lab(
    data: Any, document: Document | None = None, base: Loc = (), plain_text: Callable[[Loc], bool] | None = None
) -> LabSpec:
    """Validate ``data`` as a :class:`LabSpec`; errors are one line each, located when ``document`` is given.

    ``plain_text(loc)`` tells whether the value at ``loc`` was written in clear: a secret field so written is
    reported as such first, not by what else is wrong with it (lengthening a clear password would not do).
    """
    if not isinstance(data, dict):
        where = f"{document.source}:{document.line_of(base)}: " if document else ""
        raise BadInputError(f"{where}lab: the lab specification must be a mapping (target, cluster, gpu_pools, ...)")
    try:
        return LabSpec.model_validate(data)
    except ValidationError as err:
        errors = list(located_errors(err, data))
        if plain_text is not None:
            for loc, _ in errors:
                if _secret_typed(loc, data) and plain_text(loc):
                    raise PlainTextSecretError(loc) from None
        raise BadInputError(format_errors(errors, document, base)) from None


class PlainTextSecretError(Exception):
    """A secret field written in clear (raised by :func:`parse_lab`, worded by the stack-file reader)."""

    def __init__(self, loc: Loc) -> None:
        super().__init__(render_path(loc))
        self.loc = loc


def _secret_typed(loc: Loc, data: Any) -> bool:
    """Whether ``loc`` names a secret-typed field (found by the error module's walk through the models)."""
    model = model_at(loc[:-1], data) if loc else None
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    return field is not None and _holds_secret(field.annotation)


def _holds_secret(annotation: Any) -> bool:
    """``SecretStr``, or a union, ``Annotated`` or optional of it."""
    return annotation is SecretStr or any(_holds_secret(arg) for arg in get_args(annotation))


def lab_spec_from_stack(stack_config: StackConfig) -> LabSpec:
    """The validated spec of a stack file; plain-text secrets, a conflicting ``aws:region`` and a CA bundle that is
    not the project's PEM certificates are errors."""
    document = stack_config.document
    base: Loc = ("config", _raw_lab_key(stack_config))

    def plain_text(loc: Loc) -> bool:
        return (LAB_KEY, *loc) not in stack_config.secret_paths

    def refused(loc: Loc) -> BadInputError:
        return BadInputError(
            f"{document.source}:{document.line_of((*base, *loc))}: {render_path(loc)}: secret in plain text; encrypt it "
            f"with pulumi config set --secret --path '{render_path(loc, LAB_KEY)}' -s {stack_config.stack}"
        )

    try:
        spec = parse_lab(stack_config.lab_value(), document, base, plain_text)
    except PlainTextSecretError as clear:
        raise refused(clear.loc) from None
    for loc in secret_field_paths(spec):
        if plain_text(loc):
            raise refused(loc)
    bundle = lab_ca_bundle(spec, stack_config.project.root)
    problem = ca_bundle_problem(bundle) if bundle is not None else None
    if problem is not None:
        where = document.line_of((*base, "ingress", "ca_bundle"))
        raise BadInputError(f"{document.source}:{where}: ingress.ca_bundle: {problem}")
    provider_region = stack_config.config.get("aws:region")
    if provider_region is not None and spec.region is not None and provider_region != spec.region:
        raise BadInputError(
            f"{document.source}:{document.line_of(('config', 'aws:region'))}: aws:region {provider_region!r} differs from "
            f"lab.aws.region {spec.region!r}; remove aws:region or make them equal"
        )
    return spec


def _raw_lab_key(stack_config: StackConfig) -> str:
    raw = stack_config.document.data.get("config") or {}
    return LAB_KEY if LAB_KEY in raw else "lab"


def load_stack_spec(stack: str, project: Project | None = None) -> tuple[LabSpec, StackConfig]:
    """Find the project, read the stack file and validate its lab specification."""
    project = project or find_project()
    stack_config = read_stack(project, stack)
    return lab_spec_from_stack(stack_config), stack_config
