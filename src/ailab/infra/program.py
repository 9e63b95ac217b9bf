"""The lab program: from a :class:`~ailab.spec.LabSpec` to Pulumi resources.

``run_lab_program`` is what ``pulumi up`` runs (``src/__main__.py``) and what the offline
plan runs under the mock monitor; both read the spec from the stack's ``ailab:lab`` config.
One stack builds the whole lab, unless ``aws.kubernetes_layer`` splits an AWS lab into two stacks
of the project (:mod:`ailab.infra.layers`): the infrastructure layer, which exports
:class:`~ailab.infra.contracts.KubernetesLayerInputs`, and the Kubernetes layer, which reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.errors import AilabError
from ailab.infra import layers
from ailab.infra.contracts import ExternalMlflowStorage, KubernetesLayerInputs
from ailab.spec import naming
from ailab.spec.gpu_sharing import resource_name
from ailab.spec.model import LabSpec
from ailab.spec.pulumi_config import spec_from_pulumi_config


def run_lab_program() -> None:
    """Entry point of the Pulumi program.

    An :class:`~ailab.errors.AilabError` — from the spec or raised by a component while the
    program declares resources — ends the run as a ``RunError``: one line, no traceback.
    """
    try:
        lab_program(spec_from_pulumi_config())
    except AilabError as err:
        raise pulumi.RunError(str(err)) from None


def lab_program(spec: LabSpec) -> None:
    """Declare what the running stack builds of ``spec``'s lab and export what sandboxes and operators need."""
    target = _platform_target(spec, layers.stack_layer(spec, pulumi.get_stack()))
    if target is not None:
        from ailab.infra.k8s.platform import LabPlatform, LabPlatformArgs

        LabPlatform(
            f"{spec.name}-platform",
            LabPlatformArgs(spec=spec, external_storage=target.storage, volume_key_arn=target.volume_key_arn),
            opts=pulumi.ResourceOptions(providers={"kubernetes": target.provider}),
        )
    _export_service_endpoints(spec)


@dataclass(frozen=True)
class _PlatformTarget:
    """Where the platform goes: the cluster's provider and, on AWS, the stores and volume key the cloud provides."""

    provider: k8s.Provider
    storage: ExternalMlflowStorage | None = None
    volume_key_arn: pulumi.Input[str] | None = None


def _platform_target(spec: LabSpec, layer: layers.Layer) -> _PlatformTarget | None:
    """The platform's target for ``layer``; None for the infrastructure layer, which builds no platform."""
    if spec.target != "aws":
        kube_context = spec.onprem_settings().kubeconfig_context
        pulumi.export("kubeContext", kube_context)
        pulumi.export("clusterName", spec.cluster.name)
        provider = k8s.Provider(f"{spec.name}-onprem", context=kube_context, enable_server_side_apply=True)
        return _PlatformTarget(provider)
    if layer == "kubernetes":
        kubeconfig, inputs = layers.from_infrastructure_stack(spec)
        provider = k8s.Provider(f"{spec.name}-eks", kubeconfig=kubeconfig, enable_server_side_apply=True)
        return _PlatformTarget(provider, inputs.mlflow_storage, inputs.volume_key_arn)
    from ailab.infra.aws.lab import AwsLab, AwsLabArgs

    aws_lab = AwsLab(spec.name, AwsLabArgs(spec=spec))
    pulumi.export("kubeconfig", aws_lab.kubeconfig)
    pulumi.export("region", spec.region)
    pulumi.export("clusterName", aws_lab.cluster_name)
    pulumi.export("artifactBucket", aws_lab.artifact_bucket)
    pulumi.export("vpcId", aws_lab.vpc_id)
    pulumi.export("evidenceBucket", aws_lab.evidence_bucket)
    pulumi.export("trailSigningKey", aws_lab.trail_signing_key)
    if layer == "infrastructure":
        KubernetesLayerInputs(
            aws_lab.kubeconfig, aws_lab.volume_key_arn, aws_lab.mlflow_storage, layers.spec_digest(spec)
        ).export()
        return None
    provider = k8s.Provider(
        f"{spec.name}-eks",
        kubeconfig=aws_lab.kubeconfig,
        enable_server_side_apply=True,
        # Every Kubernetes object uses this provider, so every one waits for what it needs.
        opts=pulumi.ResourceOptions(parent=aws_lab, depends_on=aws_lab.kubernetes_ready),
    )
    return _PlatformTarget(provider, aws_lab.mlflow_storage, aws_lab.volume_key_arn)


def _export_service_endpoints(spec: LabSpec) -> None:
    """Outputs the sandbox program reads through a StackReference."""
    pulumi.export("target", spec.target)
    pulumi.export("mlflowUrl", naming.mlflow_url(spec))
    pulumi.export("qdrantUrl", naming.qdrant_url(spec))
    if spec.ingress is not None:
        pulumi.export("mlflowExternalUrl", f"https://{spec.ingress.mlflow_host}")
        pulumi.export("qdrantExternalUrl", f"https://{spec.ingress.qdrant_host}")
    pulumi.export("mlflowAdminUsername", spec.mlflow.admin_username)
    pulumi.export("mlflowAdminPassword", pulumi.Output.secret(spec.mlflow.admin_password.get_secret_value()))
    pulumi.export("qdrantApiKey", pulumi.Output.secret(spec.vector_db.api_key.get_secret_value()))
    pulumi.export(
        "namespaces",
        {
            "mlflow": naming.mlflow_namespace(spec),
            "vectorDb": naming.vector_db_namespace(spec),
            "gpu": naming.gpu_namespace(spec),
        },
    )
    pulumi.export("gpuResources", {pool.name: resource_name(pool) for pool in spec.gpu_pools})
