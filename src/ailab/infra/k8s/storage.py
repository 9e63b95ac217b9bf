"""Where the platform's volumes come from: the spec's StorageClass on-premises, an encrypted gp3 class on AWS.

EKS's default ``gp2`` class does not encrypt its EBS volumes; Qdrant's vectors are derived
from supervised data, so on AWS the platform declares its own class with ``encrypted: "true"``
(EBS encryption with the account's key for EBS; the EBS CSI driver add-on provisions it).
Volumes are retained when their claim goes, so deleting a StatefulSet never deletes evidence.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.spec.model import LabSpec

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


def encrypted_class_name(spec: LabSpec) -> str:
    return f"{spec.name}-encrypted-gp3"


def storage_class(name: str, spec: LabSpec, parent: pulumi.Resource) -> pulumi.Input[str]:
    """The StorageClass name platform volumes use; on AWS the class is declared here first."""
    if spec.onprem is not None:
        return spec.onprem.storage_class
    created = k8s.storage.v1.StorageClass(
        f"{name}-encrypted-gp3",
        metadata=meta.object_meta(spec, encrypted_class_name(spec), meta.STORAGE),
        provisioner=EBS_CSI_PROVISIONER,
        parameters={"type": "gp3", "encrypted": "true"},
        reclaim_policy="Retain",
        # Bind in the zone the pod is scheduled to (EBS volumes are zonal).
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return meta.name_of(created)
