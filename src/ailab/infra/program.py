"""The lab program: from a :class:`~ailab.spec.LabSpec` to Pulumi resources.

``run_lab_program`` is what ``pulumi up`` runs (``src/__main__.py``) and what the offline
plan runs under the mock monitor; both read the spec from the stack's ``ailab:lab`` config.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ailab.errors import AilabError
from ailab.infra.contracts import ExternalMlflowStorage, export_lab_outputs, lab_outputs
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
    """Declare the whole lab for ``spec`` and export what sandboxes and operators need."""
    storage: ExternalMlflowStorage | None = None
    kubeconfig: pulumi.Output[str] | None = None
    volume_key_arn: pulumi.Output[str] | None = None
    reaper_annotations: dict[str, pulumi.Input[str]] = {}
    if spec.target == "aws":
        from ailab.infra.aws.lab import AwsLab, AwsLabArgs

        aws_lab = AwsLab(spec.name, AwsLabArgs(spec=spec))
        provider = k8s.Provider(
            f"{spec.name}-eks",
            kubeconfig=aws_lab.kubeconfig,
            enable_server_side_apply=True,
            # Every Kubernetes object uses this provider, so every one waits for what it needs.
            opts=pulumi.ResourceOptions(parent=aws_lab, depends_on=aws_lab.kubernetes_ready),
        )
        storage = aws_lab.mlflow_storage
        volume_key_arn = aws_lab.volume_key_arn
        kubeconfig = aws_lab.kubeconfig
        reaper_annotations = aws_lab.reaper_service_account_annotations
        pulumi.export("region", spec.region)
        pulumi.export("clusterName", aws_lab.cluster_name)
        pulumi.export("artifactBucket", aws_lab.artifact_bucket)
        pulumi.export("vpcId", aws_lab.vpc_id)
        pulumi.export("evidenceBucket", aws_lab.evidence_bucket)
        pulumi.export("trailSigningKey", aws_lab.trail_signing_key)
        pulumi.export("sandboxOperatorRoleArn", aws_lab.sandbox_operator_role_arn)
    else:
        kube_context = spec.onprem_settings().kubeconfig_context
        provider = k8s.Provider(f"{spec.name}-onprem", context=kube_context, enable_server_side_apply=True)
        pulumi.export("clusterName", spec.cluster.name)

    from ailab.infra.k8s.platform import LabPlatform, LabPlatformArgs

    LabPlatform(
        f"{spec.name}-platform",
        LabPlatformArgs(
            spec=spec,
            external_storage=storage,
            volume_key_arn=volume_key_arn,
            reaper_service_account_annotations=reaper_annotations,
        ),
        opts=pulumi.ResourceOptions(providers={"kubernetes": provider}),
    )
    _export_service_endpoints(spec, kubeconfig)


def _export_service_endpoints(spec: LabSpec, kubeconfig: pulumi.Input[str] | None) -> None:
    """The outputs sandbox programs read through a StackReference: one typed contract for both sides."""
    export_lab_outputs(lab_outputs(spec, kubeconfig))
