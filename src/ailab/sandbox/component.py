"""``AuditSandbox``: everything one audit gets, as one Pulumi component.

In its own namespace: quota and limits from the profile, default-deny network policies with the
allowances of :func:`~ailab.sandbox.manifests.network_policy_specs`, a Role and RoleBinding for
the team, a workload ServiceAccount without token automount, optionally a hardened JupyterLab
workbench; outside the cluster: the MLflow experiment with the team's grants and the Qdrant
collection whose scoped token is kept as a Secret in the namespace. Every Kubernetes object is
built by the platform's own builders (:mod:`ailab.infra.k8s`), with the values of
:mod:`.manifests`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, pods, sandbox_rbac
from ailab.infra.k8s.rbac import sandbox_operator_subjects
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


OPERATOR_BINDING = "sandbox-operator"
"""The RoleBinding of the sandbox operators' in-sandbox rights, the first object of every sandbox namespace."""


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

        ns = k8s.core.v1.Namespace(f"{name}-namespace", metadata=manifests.namespace_metadata(spec, lab), opts=child)
        # Everything in the namespace names it through the Namespace's Output: created after it, deleted before it.
        in_ns = meta.name_of(ns)

        def metadata(object_name: str, **extra_labels: str) -> k8s.meta.v1.ObjectMetaArgs:
            return manifests.metadata(spec, lab, object_name, in_ns, **extra_labels)

        operator = _operator_binding(name, metadata(OPERATOR_BINDING), lab, self)
        # The operators' rights here come first: every other object of the namespace is made with them.
        in_sandbox = pulumi.ResourceOptions(parent=self, depends_on=[operator])

        quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota", metadata=metadata(manifests.QUOTA), spec=manifests.resource_quota_spec(spec, lab), opts=in_sandbox
        )
        limits = k8s.core.v1.LimitRange(
            f"{name}-limits", metadata=metadata(manifests.LIMITS), spec=manifests.limit_range_spec(spec), opts=in_sandbox
        )
        policies = [
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy}", metadata=metadata(policy), spec=body, opts=in_sandbox)
            for policy, body in manifests.network_policy_specs(lab, services).items()
        ]
        # What must hold before anything runs in the namespace: a pod admitted earlier would escape it.
        fence: list[pulumi.Resource] = [quota, limits, *policies]
        role = sandbox_rbac.namespaced_role(f"{name}-role", metadata(manifests.ROLE), manifests.TEAM_GRANTS, in_sandbox)
        sandbox_rbac.role_binding(
            f"{name}-rolebinding",
            metadata(manifests.ROLE),
            role,
            sandbox_rbac.team_subjects(lab, spec.team, [spec.group] if spec.group else []),
            # The team may start pods only once the fence stands.
            pulumi.ResourceOptions(parent=self, depends_on=[operator, *fence]),
        )
        account = pods.workload_service_account(
            f"{name}-workload",
            lab,
            name=manifests.WORKLOAD_SA,
            namespace=in_ns,
            component=meta.SANDBOX,
            parent=self,
            tenant=manifests.tenant(spec),
            depends_on=[operator],
        )

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
        secret_data = manifests.qdrant_secret_data(
            services, naming.qdrant_collection(spec.audit_id), pulumi.Output.secret(collection.token)
        )
        token = k8s.core.v1.Secret(
            f"{name}-qdrant-token",
            metadata=metadata(manifests.QDRANT_SECRET),
            type="Opaque",
            string_data=secret_data,
            opts=in_sandbox,
        )

        workbench_name: str | None = None
        if spec.profile.workbench:
            k8s.apps.v1.Deployment(
                f"{name}-workbench",
                metadata=metadata(manifests.WORKBENCH, **{labels.NAME: manifests.WORKBENCH}),
                spec=manifests.workbench_spec(
                    spec,
                    lab,
                    services,
                    service_account=meta.name_of(account),
                    experiment_id=experiment.experiment_id,
                    secret_data=secret_data,
                ),
                # Admitted only once its namespace is fenced, its identity exists and its token is stored.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[operator, *fence, account, token]),
            )
            workbench_name = manifests.WORKBENCH

        self.namespace = in_ns
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


def _operator_binding(
    name: str, metadata: k8s.meta.v1.ObjectMetaArgs, lab: LabSpec, parent: pulumi.Resource
) -> k8s.rbac.v1.RoleBinding:
    """The sandbox operators' rights in this namespace only (``ailab.infra.k8s.sandbox_operator``), first thing in it.

    Retained on delete: deleting it would take away the rights the rest of the destroy needs; the
    namespace's deletion removes it last.
    """
    return k8s.rbac.v1.RoleBinding(
        f"{name}-operator",
        metadata=metadata,
        role_ref=k8s.rbac.v1.RoleRefArgs(
            api_group=naming.RBAC_API_GROUP, kind="ClusterRole", name=naming.sandbox_operator_namespaced_role(lab)
        ),
        subjects=sandbox_operator_subjects(lab),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )


def _operator_url(external: pulumi.Input[str | None], in_cluster: pulumi.Input[str]) -> pulumi.Output[str]:
    """The URL that ``ailab sandbox create`` (on the operator's machine) records for a service: the lab's ingress.

    Without an ingress, the cluster-local URL, which that machine cannot resolve: the gate refuses it
    (AILAB-DEP-006) and ``create`` names the missing ``lab.ingress`` before that.
    """
    return pulumi.Output.all(external, in_cluster).apply(lambda urls: str(urls[0] or urls[1]))
