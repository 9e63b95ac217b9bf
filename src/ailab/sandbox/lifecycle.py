"""Deploying and destroying sandbox stacks through the Pulumi Automation API.

Project ``ailab-sandboxes``, one stack per audit id, the inline program of
:mod:`ailab.sandbox.program`, the backend of :func:`ailab.home.backend_url` and the passphrase
secrets provider. The workspace directory (``Pulumi.yaml`` and the stack files with their
encryption salts) persists under the data dir. Each stack carries its :class:`SandboxSpec` as
config, so a sandbox created on another machine sharing the backend can still be reaped.

Nothing here takes locks or writes the audit log: :mod:`ailab.sandbox.operations` does.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ailab.errors import BadInputError, MissingPrerequisiteError, OperationFailedError
from ailab.home import BACKEND_ENV, backend_url, sub_dir
from ailab.sandbox.program import EVAL_PROJECT, SANDBOX_PROJECT
from ailab.sandbox.request import SandboxSpec
from ailab.spec.lab_ca import lab_ca_bundle
from ailab.spec.model import LabSpec
from ailab.spec.service_env import CA_BUNDLE_ENV, MLFLOW_ADMIN_URL_ENV, QDRANT_ADMIN_URL_ENV
from ailab.spec.stackfile import find_project, load_stack_spec

if TYPE_CHECKING:
    from pulumi.automation import Stack

INSTALL_PULUMI = (
    "install it with: curl -fsSL https://get.pulumi.com | sh (or see https://www.pulumi.com/docs/iac/download-install/), "
    "open a new shell so that ~/.pulumi/bin is on PATH, and run the command again; "
    "plan, list, show and audit work without it"
)
SPEC_KEY = "sandbox"
"""Stack config key (``ailab-sandboxes:sandbox``) holding the sandbox's spec as JSON."""

Printer = Callable[[str], None]


def pulumi_cli() -> str | None:
    """The path of the ``pulumi`` executable on PATH, if any."""
    return shutil.which("pulumi")


def missing_engine() -> list[str]:
    """What every change through the engine needs and this machine lacks: the Pulumi CLI on PATH, and a
    passphrase, with which ailab's stacks encrypt their secrets (tokens, passwords)."""
    missing = []
    if pulumi_cli() is None:
        missing.append(f"the Pulumi CLI, which is not on PATH ({INSTALL_PULUMI})")
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        missing.append(
            "a passphrase for the sandbox's secrets: set PULUMI_CONFIG_PASSPHRASE_FILE to a file holding it "
            "(or PULUMI_CONFIG_PASSPHRASE)"
        )
    return missing


def require_engine(operation: str, lab: tuple[str, str] | None = None) -> None:
    """Exit 3 naming everything that is missing at once: :func:`missing_engine` and, when the change
    deploys (``lab``: the lab's project and stack), the lab stack whose outputs it reads.
    """
    missing = missing_engine()
    unchecked = ""
    if lab is not None:
        project, stack = lab
        deployed = lab_stack_deployed(project, stack)
        if deployed is False:
            missing.append(
                f"the lab stack {stack} deployed (the backend {backend_url()} holds no state of {project}/{stack}; "
                f'deploy it with pulumi login "$(ailab lab backend)", then pulumi up -s {stack}, as docs/deploy.md says)'
            )
        elif deployed is None:
            unchecked = f"whether the lab stack {stack} is deployed: only Pulumi reads its backend {backend_url()}"
    if missing:
        message = f"ailab sandbox {operation} needs {'; and '.join(missing)}"
        # Said only alongside what is missing: with everything else present, the deployment itself finds out.
        raise MissingPrerequisiteError(message + (f" (not checked: {unchecked})" if unchecked else ""))


CHECKPOINT_SUFFIXES = (".json", ".json.gz", ".json.zst")
"""A DIY backend's checkpoint file: plain, or compressed under PULUMI_DIY_BACKEND_GZIP / _ZSTD."""


def lab_stack_deployed(project: str, stack: str) -> bool | None:
    """Whether the backend holds the lab stack's state, read without Pulumi; None when it cannot be read so.

    A ``file://`` backend keeps a stack's checkpoint at ``.pulumi/stacks/<project>/<stack>.json``
    (``.pulumi/stacks/<stack>.json`` in the legacy layout of older backends);
    ``s3://`` and the other backends are read through the Pulumi CLI only.
    """
    url = backend_url()
    if not url.startswith("file://"):
        return None
    stacks = Path(url.removeprefix("file://").split("?", 1)[0]).expanduser() / ".pulumi" / "stacks"
    return any((base / f"{stack}{suffix}").is_file() for base in (stacks / project, stacks) for suffix in CHECKPOINT_SUFFIXES)


ADMIN_URL_OUTPUTS = {MLFLOW_ADMIN_URL_ENV: "mlflowExternalUrl", QDRANT_ADMIN_URL_ENV: "qdrantExternalUrl"}
"""The environment variable naming each service's admin endpoint for the engine's dynamic providers, and the
stack output (the lab's ingress URL, as the sandbox's last deployment read it from the lab) that fills it here."""


def require_service_paths(lab: LabSpec, lab_stack: str, operation: str) -> None:
    """Refuse, before anything runs, a lab whose MLflow and Qdrant this machine cannot reach.

    The experiment and the collection are made by the engine's dynamic providers on this machine,
    which reaches MLflow and Qdrant only through the lab's ingress (over the VPN): their Service
    names resolve inside the cluster alone (see docs/architecture.md, "Network paths of sandbox operations").
    """
    if lab.ingress is None:
        raise BadInputError(
            f"stacks/Pulumi.{lab_stack}.yaml: lab.ingress is not set, so ailab sandbox {operation} cannot reach MLflow "
            "and Qdrant from this machine; declare lab.ingress (docs/ingress.md) and deploy the lab, then run it again"
        )


def _use_recorded_endpoints(stack: Stack) -> None:
    """For a destroy: point the engine's providers at the lab's ingress URLs this sandbox last recorded, unless
    this process's environment already names the endpoints (the in-cluster reaper sets the cluster-local ones).

    A delete sees only what the resources recorded at their last update, and sandboxes made before this
    release recorded the cluster-local URLs, which this machine cannot resolve. ``up`` needs nothing of the
    kind: the program hands the resources the lab's current ingress URLs, and create and update use those.
    """
    outputs = stack.outputs()
    recorded = {env_name: outputs[output].value for env_name, output in ADMIN_URL_OUTPUTS.items() if output in outputs}
    chosen = {name: url for name, url in recorded.items() if name not in os.environ and isinstance(url, str) and url}
    stack.workspace.env_vars = {**stack.workspace.env_vars, **chosen}


def _use_lab_ca(stack: Stack, ca_bundle: Path | None) -> None:
    """Have the engine's providers verify MLflow and Qdrant against the lab's CA (``lab.ingress.ca_bundle``),
    unless this process's environment already names a bundle (an operator's own, or none needed in the cluster)."""
    if ca_bundle is not None and not os.environ.get(CA_BUNDLE_ENV):
        stack.workspace.env_vars = {**stack.workspace.env_vars, CA_BUNDLE_ENV: str(ca_bundle)}


def sandbox_lab_ca(lab_stack: str) -> Path | None:
    """For a destroy: the CA bundle of the lab ``lab_stack`` in this machine's project.

    None where there is no project here or it lacks that stack (the in-cluster reaper, which reaches the
    services by their cluster-local URLs), or where the lab names no bundle (the system trust store).
    """
    try:
        project = find_project()
    except BadInputError:
        return None
    if not project.stack_file(lab_stack).is_file():
        return None
    return lab_ca_bundle(load_stack_spec(lab_stack, project)[0], project.root)


def _project_settings(project: str) -> Any:
    from pulumi import automation as auto

    # The dynamic providers (MLflow, Qdrant) run in a Python process the engine starts: point it
    # at this interpreter's virtual environment, where ailab is installed.
    options = {"virtualenv": sys.prefix} if sys.prefix != sys.base_prefix else None
    return auto.ProjectSettings(
        name=project,
        runtime=auto.ProjectRuntimeInfo(name="python", options=options),
        main=str(workspace_dir(project)),
        backend=auto.ProjectBackend(url=backend_url()),
        description=f"{PROJECTS[project]}, managed by ailab",
    )


PROJECTS = {
    SANDBOX_PROJECT: "Per-audit sandboxes of the AI Lab (one stack per audit id)",
    EVAL_PROJECT: "Evaluation Jobs in the AI Lab's sandboxes (one stack per audit and plan)",
}
"""The Pulumi projects ailab runs through the Automation API, with their descriptions."""


def workspace_dir(project: str = SANDBOX_PROJECT) -> Path:
    """Each project its own directory: a workspace holds one project's ``Pulumi.yaml``."""
    return sub_dir("workspace" if project == SANDBOX_PROJECT else f"workspace-{project}")


def _options(program: Callable[[], None] | None, project: str = SANDBOX_PROJECT) -> Any:
    from pulumi import automation as auto

    return auto.LocalWorkspaceOptions(
        work_dir=str(workspace_dir(project)),
        program=program,
        secrets_provider="passphrase",
        project_settings=_project_settings(project),
        env_vars={"PULUMI_SKIP_UPDATE_CHECK": "true"},
    )


def open_stack(
    audit_id: str, program: Callable[[], None] | None = None, create: bool = False, *, project: str = SANDBOX_PROJECT
) -> Stack:
    """The stack ``audit_id`` of ``project`` (a sandbox's by default); ``create`` makes it when missing."""
    from pulumi import automation as auto

    def noop() -> None:
        """Destroy and reads run no program, but an inline workspace needs one."""

    chosen = program or noop
    try:
        if create:
            return auto.create_or_select_stack(audit_id, project, chosen, opts=_options(chosen, project))
        return auto.select_stack(audit_id, project, chosen, opts=_options(chosen, project))
    except auto.StackNotFoundError:
        raise
    except auto.CommandError as err:
        # Before any update: the backend, the passphrase or the workspace is wrong, not the sandbox.
        what = "sandbox" if project == SANDBOX_PROJECT else "evaluation"
        raise OperationFailedError(f"opening the Pulumi stack of {what} {audit_id} failed: {engine_error(err)}") from None


@dataclass(frozen=True)
class Deployed:
    """What ``up`` produced: the non-secret outputs, and the secret ones kept apart."""

    outputs: dict[str, Any]
    secrets: dict[str, Any]


def _split(outputs: Mapping[str, Any]) -> Deployed:
    plain = {name: value.value for name, value in outputs.items() if not value.secret}
    secret = {name: value.value for name, value in outputs.items() if value.secret}
    return Deployed(plain, secret)


def install_kubernetes_plugin(stack: Stack) -> None:
    """The kubernetes provider plugin of the locked pulumi-kubernetes SDK, which the program's resources name."""
    stack.workspace.install_plugin("kubernetes", f"v{version('pulumi-kubernetes')}")


def up(
    spec: SandboxSpec, program: Callable[[], None], *, resume: bool, on_output: Printer, ca_bundle: Path | None = None
) -> Deployed:
    """Create or update the sandbox's stack; ``resume`` first clears what an interrupted run left pending;
    ``ca_bundle``: the lab's CA, which MLflow and Qdrant are verified against (:func:`lab_ca_bundle`)."""
    from pulumi import automation as auto

    stack = open_stack(spec.audit_id, program, create=True)
    _use_lab_ca(stack, ca_bundle)
    try:
        stack.set_config(SPEC_KEY, auto.ConfigValue(spec.model_dump_json()))
        install_kubernetes_plugin(stack)
        if resume:
            stack.refresh(clear_pending_creates=True, on_output=on_output, color="never")
        result = stack.up(on_output=on_output, color="never")
    except auto.ConcurrentUpdateError as err:
        raise _concurrent(spec.audit_id, err) from None
    except auto.CommandError as err:
        raise OperationFailedError(f"pulumi up of sandbox {spec.audit_id} failed: {engine_error(err)}") from None
    return _split(result.outputs)


def destroy(audit_id: str, on_output: Printer, ca_bundle: Path | None = None) -> bool:
    """Destroy every resource of the sandbox's stack and remove the stack; False when there was no stack.

    ``ca_bundle``: as for :func:`up` (:func:`sandbox_lab_ca` finds it for a sandbox's lab).
    """
    from pulumi import automation as auto

    try:
        stack = open_stack(audit_id)
    except auto.StackNotFoundError:
        return False
    try:
        _use_recorded_endpoints(stack)
        _use_lab_ca(stack, ca_bundle)
        stack.destroy(on_output=on_output, color="never", remove=True)
    except auto.ConcurrentUpdateError as err:
        raise _concurrent(audit_id, err) from None
    except auto.CommandError as err:
        raise OperationFailedError(f"pulumi destroy of sandbox {audit_id} failed: {engine_error(err)}") from None
    return True


def backend_specs() -> tuple[dict[str, SandboxSpec], dict[str, str]]:
    """The spec of every sandbox stack in the backend (sandboxes made on other machines included).

    Second: by stack name, why a stack's spec could not be read, so that one odd stack does not hide the others.
    """
    from pulumi import automation as auto

    specs: dict[str, SandboxSpec] = {}
    unreadable: dict[str, str] = {}
    workspace = auto.LocalWorkspace(**_options(None).__dict__)
    for summary in workspace.list_stacks():
        name = summary.name.rsplit("/", 1)[-1]
        try:
            # A stack made on another machine has no stack file here: take its config from its last deployment.
            workspace.refresh_config(name)
            value = workspace.get_config(name, SPEC_KEY)
        except auto.CommandError:
            continue  # a stack without a spec was not made by ailab (or is being made right now)
        try:
            specs[name] = SandboxSpec.model_validate_json(value.value)
        except ValidationError as error:
            unreadable[name] = (
                f"sandbox stack {name}: its {SANDBOX_PROJECT}:{SPEC_KEY} config is not a sandbox spec this ailab reads "
                f"({error.error_count()} error(s)); run the ailab that made it, or remove the stack with: "
                f"pulumi destroy --remove --stack organization/{SANDBOX_PROJECT}/{name}"
            )
    return specs, unreadable


def _concurrent(audit_id: str, err: Exception) -> OperationFailedError:
    return OperationFailedError(
        f"the Pulumi stack of sandbox {audit_id} is locked by another update ({_last_error_line(err)}); if no other "
        f"ailab or pulumi process works on it (e.g. a run was killed), clear Pulumi's lock with: "
        f"pulumi cancel --yes --stack organization/{SANDBOX_PROJECT}/{audit_id} (after pulumi login {backend_url()})"
    )


def _last_error_line(err: Exception) -> str:
    """The engine's last 'error:' line (its whole stderr is streamed already)."""
    text = str(getattr(err, "stderr", "") or err)
    # A CommandError reads "code: 255 / stdout: ... / stderr: error: ...": the streams' labels go first.
    lines = [_STREAM_LABEL.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("code:")]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["no message"])[-1]


_STREAM_LABEL = re.compile(r"^\s*(stdout|stderr):\s*")


_AS_OPERATOR = (
    "the group <lab name>:sandbox-operators: on AWS assume the role of the lab's sandboxOperatorRoleArn output, e.g. "
    "aws sso login then AWS_PROFILE=ailab-sandbox-operator; on-premises an account of an OIDC group in "
    "lab.access.sandbox_operators; see docs/deploy.md, 'Sandbox operators and the reaper'"
)
# Causes the engine reports often, by a phrase of its message, and what to do about each.
_HINTS: tuple[tuple[str, str], ...] = (
    (
        "passphrase",
        "check PULUMI_CONFIG_PASSPHRASE_FILE (or PULUMI_CONFIG_PASSPHRASE): it must be the one the sandbox stacks were made with",
    ),
    (
        "could not find plugin",
        "the engine lacks a provider plugin: run ailab sandbox create again on a machine that can install plugins",
    ),
    ("failed to log in", f"check the state backend ({BACKEND_ENV}) is reachable and you may write to it"),
    ("no credentials", f"the state backend needs cloud credentials ({BACKEND_ENV} is s3://...): configure them and retry"),
    (
        "unauthorized",
        f"the cluster did not accept your credentials: sign in again as the sandbox operator ({_AS_OPERATOR}) and retry",
    ),
    (
        "forbidden",
        f"the cluster refused this identity: sandbox operations run as the sandbox operator ({_AS_OPERATOR}), "
        "which may act in audit-* namespaces only; not the deployer, nor cluster-admin",
    ),
    (
        "connection refused",
        "a service the sandbox needs (the cluster API, MLflow, Qdrant) is unreachable: run from a machine on the lab's network",
    ),
)


def engine_error(err: Exception) -> str:
    """The engine's last error line and, when its cause is a known one, what to do: one line."""
    line = _last_error_line(err)
    lowered = line.lower()
    hint = next((advice for phrase, advice in _HINTS if phrase in lowered), None)
    return f"{line}; {hint}" if hint else f"{line}; the full engine output is above"
