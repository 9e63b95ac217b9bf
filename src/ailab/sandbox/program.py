"""The sandbox program: one ``AuditSandbox`` on the lab's cluster, and the stack outputs an auditor needs.

The same program runs for real (Automation API, reading the lab stack's outputs through a
``StackReference``) and offline (the plan under the mock monitor, where there is no lab state and
the lab program's own derivation of its outputs from the spec stands in). Both go through the one
contract of what a lab exports, :class:`~ailab.infra.contracts.LabOutputs`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pulumi

from ailab.infra.contracts import LabOutputs, lab_outputs, read_lab_outputs
from ailab.plan.graph import Plan
from ailab.sandbox.manifests import LabServices
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec.model import LabSpec

SANDBOX_PROJECT = "ailab-sandboxes"
EVAL_PROJECT = "ailab-evals"
"""Evaluation Jobs in sandboxes: their own project, one short-lived stack per audit and plan."""
LAB_PROJECT = "ailab"
OFFLINE_KUBECONFIG = "offline plan: the kubeconfig output of the lab stack"
OFFLINE_SECRET = "offline plan: a secret output of the lab stack"


@dataclass(frozen=True)
class LabConnection:
    """What the sandbox takes from its lab: how to reach the cluster, and the services with their admin credentials."""

    services: LabServices
    mlflow_admin_username: pulumi.Input[str]
    mlflow_admin_password: pulumi.Input[str]
    qdrant_api_key: pulumi.Input[str]
    kubeconfig: pulumi.Input[str] | None = None
    """AWS: the EKS kubeconfig (secret). On-premises: None, and :attr:`kube_context` names the context."""
    kube_context: pulumi.Input[str] | None = None
    mlflow_external_url: pulumi.Input[str | None] = None
    """How auditors' machines reach MLflow (the lab's ingress, over the VPN); None without an ingress."""
    qdrant_external_url: pulumi.Input[str | None] = None


def lab_stack_reference_name(lab_stack: str, lab_project: str = LAB_PROJECT) -> str:
    """The lab stack's name as a ``StackReference`` (:func:`ailab.infra.layers.stack_reference_name`)."""
    from ailab.infra.layers import stack_reference_name

    return stack_reference_name(lab_project, lab_stack)


def connection_from_outputs(outputs: LabOutputs) -> LabConnection:
    """The sandbox's view of its lab's outputs (:class:`~ailab.infra.contracts.LabOutputs`); credentials kept secret."""
    return LabConnection(
        services=LabServices(
            mlflow_namespace=outputs.namespaces.mlflow,
            qdrant_namespace=outputs.namespaces.vector_db,
            mlflow_url=outputs.mlflow_url,
            qdrant_url=outputs.qdrant_url,
        ),
        mlflow_admin_username=outputs.mlflow_admin_username,
        mlflow_admin_password=pulumi.Output.secret(outputs.mlflow_admin_password),
        qdrant_api_key=pulumi.Output.secret(outputs.qdrant_api_key),
        kubeconfig=pulumi.Output.secret(outputs.kubeconfig) if outputs.kubeconfig is not None else None,
        kube_context=outputs.kube_context,
        mlflow_external_url=outputs.mlflow_external_url,
        qdrant_external_url=outputs.qdrant_external_url,
    )


def connection_from_stack(lab: LabSpec, lab_stack: str, lab_project: str = LAB_PROJECT) -> LabConnection:
    """Read the lab's outputs (exported by :mod:`ailab.infra.program`) through a StackReference; call inside a running program."""
    reference = pulumi.StackReference(lab_stack_reference_name(lab_stack, lab_project))
    return connection_from_outputs(read_lab_outputs(reference, lab.target))


def connection_from_spec(lab: LabSpec) -> LabConnection:
    """For the offline plan: the outputs the lab program derives from ``lab``, with placeholders for its secrets.

    The plan never holds the lab's credentials, nor a kubeconfig (the AWS lab's is the cluster's output).
    """
    kubeconfig = pulumi.Output.secret(OFFLINE_KUBECONFIG) if lab.target == "aws" else None
    offline = replace(
        lab_outputs(lab, kubeconfig),
        mlflow_admin_password=pulumi.Output.secret(OFFLINE_SECRET),
        qdrant_api_key=pulumi.Output.secret(OFFLINE_SECRET),
    )
    return connection_from_outputs(offline)


def sandbox_program(spec: SandboxSpec, lab: LabSpec, connect: Callable[[], LabConnection]) -> Callable[[], None]:
    """The Pulumi program for ``spec``; ``connect`` is called inside it (a StackReference is a resource)."""

    def program() -> None:
        import pulumi_kubernetes as k8s

        from ailab.sandbox.component import AuditSandbox, AuditSandboxArgs

        connection = connect()
        provider = k8s.Provider(
            "lab-cluster",
            kubeconfig=connection.kubeconfig,
            context=connection.kube_context,
            enable_server_side_apply=True,
        )
        sandbox = AuditSandbox(
            spec.audit_id,
            AuditSandboxArgs(spec=spec, lab=lab, connection=connection),
            opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
        )
        pulumi.export("auditId", spec.audit_id)
        pulumi.export("namespace", sandbox.namespace)
        pulumi.export("expiresAt", iso(spec.expires_at))
        pulumi.export("maxExpiresAt", iso(spec.max_expires_at))
        pulumi.export("mlflowUrl", connection.services.mlflow_url)
        pulumi.export("mlflowExperiment", sandbox.experiment_name)
        pulumi.export("mlflowCredentials", sandbox.mlflow_credentials)
        pulumi.export("mlflowRevertedRenames", sandbox.mlflow_reverted_renames)
        pulumi.export("mlflowExternalUrl", connection.mlflow_external_url)
        pulumi.export("qdrantUrl", connection.services.qdrant_url)
        pulumi.export("qdrantExternalUrl", connection.qdrant_external_url)
        pulumi.export("qdrantCollection", sandbox.collection_name)
        pulumi.export("workbench", sandbox.workbench_name)

    return program


def plan_sandbox(spec: SandboxSpec, lab: LabSpec) -> Plan:
    """The sandbox's offline plan: the real program under the mock monitor, lab values derived from the spec."""
    from ailab.plan.runner import run_program

    program = sandbox_program(spec, lab, lambda: connection_from_spec(lab))
    return run_program(program, project=SANDBOX_PROJECT, stack=spec.audit_id, kind="sandbox", region=lab.region)
