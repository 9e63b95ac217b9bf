"""The sandbox program: one ``AuditSandbox`` on the lab's cluster, and the stack outputs an auditor needs.

The same program runs for real (Automation API, reading the lab stack's outputs through a
``StackReference``) and offline (the plan under the mock monitor, where there is no lab state and
the same values are derived from the lab spec with :mod:`ailab.spec.naming`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from ailab.plan.graph import Plan
from ailab.sandbox.manifests import LabServices
from ailab.sandbox.request import SandboxSpec, iso
from ailab.spec import naming
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
    """The lab stack's name as a ``StackReference`` on a DIY backend (file:// or s3://), which ailab uses."""
    return f"organization/{lab_project}/{lab_stack}"


def connection_from_stack(lab: LabSpec, lab_stack: str, lab_project: str = LAB_PROJECT) -> LabConnection:
    """Read the lab's outputs (exported by :mod:`ailab.infra.program`); call inside a running program."""
    ref = pulumi.StackReference(lab_stack_reference_name(lab_stack, lab_project))
    namespaces = ref.require_output("namespaces")
    services = LabServices(
        mlflow_namespace=namespaces.apply(lambda ns: str(ns["mlflow"])),
        qdrant_namespace=namespaces.apply(lambda ns: str(ns["vectorDb"])),
        mlflow_url=ref.require_output("mlflowUrl").apply(str),
        qdrant_url=ref.require_output("qdrantUrl").apply(str),
    )
    aws = lab.target == "aws"
    return LabConnection(
        services=services,
        mlflow_admin_username=ref.require_output("mlflowAdminUsername").apply(str),
        mlflow_admin_password=pulumi.Output.secret(ref.require_output("mlflowAdminPassword").apply(str)),
        qdrant_api_key=pulumi.Output.secret(ref.require_output("qdrantApiKey").apply(str)),
        kubeconfig=pulumi.Output.secret(ref.require_output("kubeconfig").apply(str)) if aws else None,
        kube_context=None if aws else ref.require_output("kubeContext").apply(str),
        mlflow_external_url=ref.get_output("mlflowExternalUrl"),
        qdrant_external_url=ref.get_output("qdrantExternalUrl"),
    )


def connection_from_spec(lab: LabSpec) -> LabConnection:
    """The same values derived from the lab spec, for the offline plan; credentials are secret placeholders."""
    services = LabServices(
        mlflow_namespace=naming.mlflow_namespace(lab),
        qdrant_namespace=naming.vector_db_namespace(lab),
        mlflow_url=naming.mlflow_url(lab),
        qdrant_url=naming.qdrant_url(lab),
    )
    aws = lab.target == "aws"
    return LabConnection(
        services=services,
        mlflow_admin_username=lab.mlflow.admin_username,
        mlflow_admin_password=pulumi.Output.secret(OFFLINE_SECRET),
        qdrant_api_key=pulumi.Output.secret(OFFLINE_SECRET),
        kubeconfig=pulumi.Output.secret(OFFLINE_KUBECONFIG) if aws else None,
        kube_context=None if aws else lab.onprem_settings().kubeconfig_context,
        mlflow_external_url=f"https://{lab.ingress.mlflow_host}" if lab.ingress else None,
        qdrant_external_url=f"https://{lab.ingress.qdrant_host}" if lab.ingress else None,
    )


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
