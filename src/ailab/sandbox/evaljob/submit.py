"""Planning, gating and running an evaluation Job: offline up to the gate, then the Automation API.

The Job's stack lives only as long as one run: ``pulumi up`` waits for the Job to complete (the
Kubernetes provider's Job await), ailab reads the runner's JSON result from the pod's termination
message with ``kubectl``, then destroys the stack (the Job, its Secrets, policy and account).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ailab.errors import BadInputError, MissingPrerequisiteError, OperationFailedError
from ailab.plan.graph import Plan
from ailab.sandbox import lifecycle, state
from ailab.sandbox.evaljob.bundle import EvalBundle
from ailab.sandbox.evaljob.endpoint import ALLOWLIST, Endpoint, route
from ailab.sandbox.evaljob.program import CONTAINER, EvalJob, MlflowLogin, eval_job_program, plan_job
from ailab.sandbox.gate import GateBlockedError, GateResult, check
from ailab.sandbox.lifecycle import Printer
from ailab.sandbox.program import EVAL_PROJECT, connection_from_stack, plan_sandbox
from ailab.spec.stackfile import Project, find_project, load_stack_spec

USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
KUBECTL_TIMEOUT = 60


@dataclass(frozen=True)
class PlannedJob:
    job: EvalJob
    plan: Plan
    gate: GateResult


def prepare(bundle: EvalBundle, lab_stack: str, project: Project | None = None, endpoint: Endpoint | None = None) -> EvalJob:
    """The Job for ``bundle`` in its audit's sandbox (created on this machine), with the lab's runner image.

    ``endpoint``: an endpoint plan's system under audit, which the Job's NetworkPolicy must let it reach.
    """
    project = project or find_project()
    lab, _ = load_stack_spec(lab_stack, project)
    image = lab.sandbox.eval_runner_image
    if image is None:
        raise BadInputError(
            f"{project.stack_file(lab_stack)}: lab.sandbox.eval_runner_image is not set; build docker/eval-runner, push it "
            "to an allowed registry and set it to registry/ailab-eval@sha256:<digest>"
        )
    entry = state.load(bundle.audit_id)
    if entry is None:
        raise BadInputError(
            f"plan {bundle.plan_name}: audit {bundle.audit_id} has no sandbox on this machine; the Job runs in it, within its "
            f"quota: create it first with ailab sandbox create {bundle.audit_id} --stack {lab_stack} --team ... --profile ..."
        )
    if entry.spec.lab_stack != lab_stack:
        raise BadInputError(
            f"--stack {lab_stack}: the sandbox of audit {bundle.audit_id} is on lab stack {entry.spec.lab_stack}; give --stack "
            f"{entry.spec.lab_stack}"
        )
    job = EvalJob(entry.spec, lab, bundle, image)
    if endpoint is None:
        return job
    setting = f"{project.stack_file(lab_stack)}: {ALLOWLIST}"
    return replace(job, route=route(endpoint, lab, job.namespace, setting))


def plan(job: EvalJob) -> PlannedJob:
    """The Job's offline plan, gated together with its sandbox's (the namespace's quota and default deny)."""
    job_plan = plan_job(job)
    return PlannedJob(job, job_plan, check(job_plan, job.lab, alongside=[plan_sandbox(job.sandbox, job.lab)]))


def require_gate(planned: PlannedJob) -> None:
    if not planned.gate.passed:
        raise GateBlockedError(planned.job.stack_name, planned.gate, what="evaluation")


def missing_prerequisites(job: EvalJob) -> list[str]:
    """The engine's needs (:func:`~ailab.sandbox.lifecycle.missing_engine`), kubectl, the member's MLflow login, and
    an endpoint plan's API key."""
    missing = lifecycle.missing_engine()
    if shutil.which("kubectl") is None:
        missing.append("kubectl on PATH, which reads the Job's result (https://kubernetes.io/docs/tasks/tools/)")
    if not (os.environ.get(USERNAME_ENV) and os.environ.get(PASSWORD_ENV)):
        missing.append(
            f"your MLflow login for the audit's experiment: set {USERNAME_ENV} and {PASSWORD_ENV} "
            "(the password ailab sandbox create gave the team member)"
        )
    key_env = job.route.endpoint.key_env if job.route is not None else None
    if key_env is not None and not os.environ.get(key_env):
        missing.append(f"the endpoint's API key in {key_env} (target.endpoint.api_key_env), which the Job gets in a Secret")
    return missing


def require_prerequisites(job: EvalJob) -> None:
    missing = missing_prerequisites(job)
    if missing:
        raise MissingPrerequisiteError(f"ailab eval run --stack needs {'; and '.join(missing)}")


def login(job: EvalJob) -> MlflowLogin:
    """The submitting member's MLflow login from the environment: a member of the audit's team, never the admin."""
    username, password = os.environ.get(USERNAME_ENV, ""), os.environ.get(PASSWORD_ENV, "")
    if username == job.lab.mlflow.admin_username:
        raise BadInputError(
            f"{USERNAME_ENV}={username} is the lab's MLflow admin; the Job runs with a team member's grant only: "
            "set your own MLflow login"
        )
    if username not in job.sandbox.team:
        raise BadInputError(
            f"{USERNAME_ENV}={username} is not in the team of audit {job.sandbox.audit_id} ({', '.join(job.sandbox.team)}); "
            "set the login of a team member"
        )
    return MlflowLogin(username, password)


def run(
    job: EvalJob, member: MlflowLogin, on_output: Printer, key: str | None = None, project: Project | None = None
) -> dict[str, Any]:
    """Deploy the Job (with the endpoint's API ``key`` for an endpoint plan), wait for it, return the runner's result
    document, and destroy the stack."""
    from pulumi import automation as auto

    project = project or find_project()
    program = eval_job_program(job, lambda: connection_from_stack(job.lab, job.sandbox.lab_stack, project.name), member, key)
    stack = lifecycle.open_stack(job.stack_name, program, create=True, project=EVAL_PROJECT)
    failure: str | None = None
    outputs: dict[str, Any] = {}
    try:
        lifecycle.install_kubernetes_plugin(stack)
        try:
            outputs = {name: value.value for name, value in stack.up(on_output=on_output, color="never").outputs.items()}
        except auto.CommandError as err:
            # A Job that failed may still have left the runner's reason in its termination message.
            failure = lifecycle.engine_error(err)
            outputs = {name: value.value for name, value in stack.outputs().items()}
        document = read_result(job, outputs, failure)
    finally:
        try:
            stack.destroy(on_output=on_output, color="never", remove=True)
        except auto.CommandError as err:
            on_output(
                f"warning: the Job's stack was not removed ({lifecycle.engine_error(err)}); remove it with: "
                f"pulumi destroy --remove --stack organization/{EVAL_PROJECT}/{job.stack_name}"
            )
    return document


def read_result(job: EvalJob, outputs: dict[str, Any], failure: str | None) -> dict[str, Any]:
    """The runner's result document; its error, or the engine's ``failure`` when it left none, as an error."""
    message = _termination_message(job, outputs)
    try:
        document = json.loads(message) if message else None
    except ValueError:
        document = None
    where = f"kubectl logs --namespace {job.namespace} job/{job.name}"
    if not isinstance(document, dict):
        raise OperationFailedError(
            f"the evaluation Job {job.name} ended without a result ({failure or 'no termination message'}); see: {where}"
        )
    if "error" in document:
        raise OperationFailedError(f"the evaluation Job {job.name} failed: {document['error']}; see: {where}")
    return document


def _termination_message(job: EvalJob, outputs: dict[str, Any]) -> str:
    """The runner's result: its container's termination message, read with kubectl as the lab stack connects."""
    query = f'jsonpath={{.items[0].status.containerStatuses[?(@.name=="{CONTAINER}")].state.terminated.message}}'
    selector = f"batch.kubernetes.io/job-name={outputs.get('job') or job.name}"
    with tempfile.TemporaryDirectory(prefix="ailab-kube-") as scratch:
        connect: list[str] = []
        if outputs.get("kubeconfig"):
            path = Path(scratch) / "kubeconfig"
            path.touch(mode=0o600)
            path.write_text(str(outputs["kubeconfig"]), encoding="utf-8")
            connect = ["--kubeconfig", str(path)]
        elif outputs.get("kubeContext"):
            connect = ["--context", str(outputs["kubeContext"])]
        command = ["kubectl", *connect, "--namespace", job.namespace, "get", "pods", "--selector", selector, "--output", query]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=KUBECTL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise OperationFailedError(f"kubectl did not answer within {KUBECTL_TIMEOUT} s: is the cluster reachable?") from None
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise OperationFailedError(
            f"kubectl could not read the Job's pod ({reason}); run it from a machine that reaches the cluster"
        )
    return done.stdout.strip()
