"""Where the platform's volumes come from: the spec's StorageClass on-premises, an encrypted gp3 class on AWS.

EKS's default ``gp2`` class does not encrypt its EBS volumes; Qdrant's vectors are derived
from supervised data, so on AWS the platform declares its own class with ``encrypted: "true"``,
under the lab's KMS key when the AWS layer hands one over (else the account's default EBS key).
The EBS CSI driver add-on provisions it. Volumes are retained when their claim goes, so
deleting a StatefulSet never deletes evidence.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.spec.model import LabSpec

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


def encrypted_class_name(spec: LabSpec) -> str:
    return f"{spec.name}-encrypted-gp3"


def storage_class(name: str, spec: LabSpec, parent: pulumi.Resource, kms_key_arn: pulumi.Input[str] | None) -> pulumi.Input[str]:
    """The StorageClass name platform volumes use; on AWS the class is declared here first."""
    if spec.target == "onprem":
        return spec.onprem_settings().storage_class
    parameters: dict[str, pulumi.Input[str]] = {"type": "gp3", "encrypted": "true"}
    if kms_key_arn is not None:
        parameters["kmsKeyId"] = kms_key_arn
    created = k8s.storage.v1.StorageClass(
        f"{name}-encrypted-gp3",
        metadata=meta.object_meta(spec, encrypted_class_name(spec), meta.STORAGE),
        provisioner=EBS_CSI_PROVISIONER,
        parameters=parameters,
        reclaim_policy="Retain",
        # Bind in the zone the pod is scheduled to (EBS volumes are zonal).
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return meta.name_of(created)


def volume_claim(
    name: str,
    spec: LabSpec,
    *,
    claim_name: str,
    component: str,
    namespace: pulumi.Input[str],
    storage_class: pulumi.Input[str],
    size: str,
    parent: pulumi.Resource,
) -> k8s.core.v1.PersistentVolumeClaim:
    """A ``ReadWriteOnce`` claim of ``size`` on the platform's class (one node at a time mounts it)."""
    return k8s.core.v1.PersistentVolumeClaim(
        name,
        metadata=meta.object_meta(spec, claim_name, component, namespace),
        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
            access_modes=["ReadWriteOnce"],
            storage_class_name=storage_class,
            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": size}),
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
