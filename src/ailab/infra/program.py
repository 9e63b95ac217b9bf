"""The lab program: from a :class:`~ailab.spec.LabSpec` to Pulumi resources.

``run_lab_program`` is what ``pulumi up`` runs (``src/__main__.py``) and what the offline
plan runs under the mock monitor; both read the spec from the stack's ``ailab:lab`` config.
One stack builds the whole lab, unless ``aws.kubernetes_layer`` splits an AWS lab into two stacks
of the project (:mod:`ailab.infra.layers`): the infrastructure layer, which exports
:class:`~ailab.infra.contracts.KubernetesLayerInputs`, and the Kubernetes layer, which reads them.
Every layer exports :class:`~ailab.infra.contracts.LabOutputs`, so either stack can serve sandboxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ailab.errors import AilabError
from ailab.infra import layers
from ailab.infra.contracts import (
    IRSA_ROLE_ANNOTATION,
    ExternalMlflowStorage,
    KubernetesLayerInputs,
    ReaperTrail,
    export_lab_outputs,
    lab_outputs,
)
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
    if target.provider is not None:
        from ailab.infra.k8s.platform import LabPlatform, LabPlatformArgs

        LabPlatform(
            f"{spec.name}-platform",
            LabPlatformArgs(
                spec=spec,
                external_storage=target.storage,
                volume_key_arn=target.volume_key_arn,
                reaper_service_account_annotations=dict(target.reaper_annotations),
                reaper_trail=target.reaper_trail,
            ),
            opts=pulumi.ResourceOptions(providers={"kubernetes": target.provider}),
        )
    export_lab_outputs(lab_outputs(spec, target.kubeconfig))


@dataclass(frozen=True)
class _PlatformTarget:
    """Where the platform goes (no provider: the infrastructure layer, which builds none) and what the cloud provides."""

    provider: k8s.Provider | None
    kubeconfig: pulumi.Input[str] | None = None
    """AWS: the cluster's kubeconfig, exported for sandboxes; on-premises a kube context names the cluster."""
    storage: ExternalMlflowStorage | None = None
    volume_key_arn: pulumi.Input[str] | None = None
    reaper_annotations: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The reaper ServiceAccount's IRSA annotation (empty without ``sandbox.reaper``)."""
    reaper_trail: ReaperTrail | None = None
    """AWS: the reaper's trail store and signing key (None without ``sandbox.reaper``)."""


def _platform_target(spec: LabSpec, layer: layers.Layer) -> _PlatformTarget:
    """The platform's target for ``layer``."""
    if spec.target != "aws":
        kube_context = spec.onprem_settings().kubeconfig_context
        pulumi.export("clusterName", spec.cluster.name)
        return _PlatformTarget(k8s.Provider(f"{spec.name}-onprem", context=kube_context, enable_server_side_apply=True))
    if layer == "kubernetes":
        kubeconfig, inputs = layers.from_infrastructure_stack(spec)
        provider = k8s.Provider(f"{spec.name}-eks", kubeconfig=kubeconfig, enable_server_side_apply=True)
        reaper = {} if inputs.reaper_role_arn is None else {IRSA_ROLE_ANNOTATION: inputs.reaper_role_arn}
        return _PlatformTarget(
            provider, inputs.kubeconfig, inputs.mlflow_storage, inputs.volume_key_arn, reaper, inputs.reaper_trail
        )
    from ailab.infra.aws.lab import AwsLab, AwsLabArgs

    aws_lab = AwsLab(spec.name, AwsLabArgs(spec=spec))
    pulumi.export("region", spec.region)
    pulumi.export("clusterName", aws_lab.cluster_name)
    pulumi.export("artifactBucket", aws_lab.artifact_bucket)
    pulumi.export("vpcId", aws_lab.vpc_id)
    pulumi.export("evidenceBucket", aws_lab.evidence_bucket)
    pulumi.export("trailSigningKey", aws_lab.trail_signing_key)
    pulumi.export("sandboxOperatorRoleArn", aws_lab.sandbox_operator_role_arn)
    if layer == "infrastructure":
        KubernetesLayerInputs(
            aws_lab.kubeconfig,
            aws_lab.volume_key_arn,
            aws_lab.mlflow_storage,
            layers.spec_digest(spec),
            reaper_role_arn=aws_lab.reaper_service_account_annotations.get(IRSA_ROLE_ANNOTATION),
            reaper_trail=aws_lab.reaper_trail,
        ).export()
        return _PlatformTarget(None, aws_lab.kubeconfig)
    provider = k8s.Provider(
        f"{spec.name}-eks",
        kubeconfig=aws_lab.kubeconfig,
        enable_server_side_apply=True,
        # Every Kubernetes object uses this provider, so every one waits for what it needs.
        opts=pulumi.ResourceOptions(parent=aws_lab, depends_on=aws_lab.kubernetes_ready),
    )
    return _PlatformTarget(
        provider,
        aws_lab.kubeconfig,
        aws_lab.mlflow_storage,
        aws_lab.volume_key_arn,
        aws_lab.reaper_service_account_annotations,
        aws_lab.reaper_trail,
    )
