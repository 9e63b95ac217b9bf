"""``AuditSandbox``: everything one audit gets, as one Pulumi component.

In its own namespace: quota and limits from the profile, default-deny network policies with the
allowances of :func:`~ailab.sandbox.manifests.network_policies`, a Role and RoleBinding for the
team, a workload ServiceAccount without token automount, optionally a hardened JupyterLab
workbench; outside the cluster: the MLflow experiment with the team's grants and the Qdrant
collection whose scoped token is kept as a Secret in the namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.sandbox import manifests
from ailab.sandbox.ids import owner_label
from ailab.sandbox.program import LabConnection
from ailab.sandbox.request import SandboxSpec, iso
from ailab.services.mlflow import AuditExperiment
from ailab.services.qdrant.resource import AuditCollection
from ailab.spec import labels, naming
from ailab.spec.model import LabSpec

QDRANT_VECTOR_SIZE = 768
"""Dimensions of the audit collection's vectors (BERT-base-sized embeddings); the collection is made empty."""


@dataclass(frozen=True)
class AuditSandboxArgs:
    spec: SandboxSpec
    lab: LabSpec
    connection: LabConnection


class AuditSandbox(pulumi.ComponentResource):
    """One audit's isolated, time-limited environment (type ``ailab:sandbox:AuditSandbox``)."""

    namespace: pulumi.Output[str]
    experiment_name: pulumi.Output[str]
    collection_name: pulumi.Output[str]
    mlflow_credentials: pulumi.Output[dict[str, str]]
    """Passwords of the MLflow users this deployment created (secret)."""
    mlflow_reverted_renames: pulumi.Output[list[dict[str, str]]]
    """Renames of the audit's experiment (by a member) that this deployment undid, for the audit log."""
    workbench_name: pulumi.Output[str | None]

    def __init__(self, name: str, args: AuditSandboxArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:sandbox:AuditSandbox", name, None, opts)
        spec, lab, connection = args.spec, args.lab, args.connection
        services = connection.services
        child = pulumi.ResourceOptions(parent=self)

        ns = k8s.core.v1.Namespace(f"{name}-namespace", opts=child, **manifests.namespace(spec, lab))
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        quota = k8s.core.v1.ResourceQuota(f"{name}-quota", opts=in_ns, **manifests.resource_quota(spec, lab))
        limits = k8s.core.v1.LimitRange(f"{name}-limits", opts=in_ns, **manifests.limit_range(spec, lab))
        policies = [
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy}", opts=in_ns, **body)
            for policy, body in manifests.network_policies(spec, lab, services).items()
        ]
        role = k8s.rbac.v1.Role(f"{name}-role", opts=in_ns, **manifests.role(spec, lab))
        k8s.rbac.v1.RoleBinding(
            f"{name}-rolebinding",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, role]),
            **manifests.role_binding(spec, lab),
        )
        account = k8s.core.v1.ServiceAccount(f"{name}-workload", opts=in_ns, **manifests.service_account(spec, lab))

        experiment = AuditExperiment(
            f"{name}-mlflow",
            tracking_url=_operator_url(connection.mlflow_external_url, services.mlflow_url),
            admin_username=connection.mlflow_admin_username,
            admin_password=connection.mlflow_admin_password,
            audit_id=spec.audit_id,
            members=list(spec.team),
            tags={
                labels.OWNER: owner_label(spec.lead),
                labels.DATA_CLASSIFICATION: spec.data_classification,
                labels.EXPIRES_AT: iso(spec.expires_at),
                labels.PURPOSE: spec.purpose,
            },
            opts=child,
        )
        collection = AuditCollection(
            f"{name}-qdrant",
            url=_operator_url(connection.qdrant_external_url, services.qdrant_url),
            api_key=connection.qdrant_api_key,
            audit_id=spec.audit_id,
            vector_size=QDRANT_VECTOR_SIZE,
            expires_at=spec.expires_at,
            opts=child,
        )
        token = k8s.core.v1.Secret(
            f"{name}-qdrant-token",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
            **manifests.qdrant_secret(
                spec, lab, services, naming.qdrant_collection(spec.audit_id), pulumi.Output.secret(collection.token)
            ),
        )

        workbench_name: str | None = None
        if spec.profile.workbench:
            k8s.apps.v1.Deployment(
                f"{name}-workbench",
                # Admitted only once its namespace is fenced: quota, limits, policies, identity, token.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[ns, quota, limits, *policies, account, token]),
                **manifests.workbench(spec, lab, services, experiment.experiment_id),
            )
            workbench_name = manifests.WORKBENCH

        self.namespace = ns.metadata.apply(lambda meta: str(meta.name))
        self.experiment_name = experiment.experiment_name
        self.collection_name = collection.collection
        self.mlflow_credentials = pulumi.Output.secret(experiment.generated_passwords)
        self.mlflow_reverted_renames = experiment.reverted_renames
        self.workbench_name = pulumi.Output.from_input(workbench_name)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "experimentName": self.experiment_name,
                "collectionName": self.collection_name,
                "workbench": self.workbench_name,
            }
        )


def _operator_url(external: pulumi.Input[str | None], in_cluster: pulumi.Input[str]) -> pulumi.Output[str]:
    """The URL that ``ailab sandbox create`` (on the operator's machine) records for a service: the lab's ingress.

    Without an ingress, the cluster-local URL, which that machine cannot resolve: the gate refuses it
    (AILAB-DEP-006) and ``create`` names the missing ``lab.ingress`` before that.
    """
    return pulumi.Output.all(external, in_cluster).apply(lambda urls: str(urls[0] or urls[1]))
