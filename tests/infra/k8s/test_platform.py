"""The platform as the lab program builds it: components, the provider it is given, labels on every object."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailab.infra import tagging
from ailab.plan.lab import plan_lab
from ailab.spec import find_project, labels

REPO = Path(__file__).resolve().parents[3]
COMPONENTS = {
    "ailab:k8s:Platform",
    "ailab:k8s:Namespaces",
    "ailab:k8s:GpuOperator",
    "ailab:k8s:Mlflow",
    "ailab:k8s:Qdrant",
    "ailab:k8s:NetworkPolicies",
    "ailab:k8s:PersonaRbac",
    "ailab:k8s:SandboxOperator",
    "ailab:k8s:Reaper",
}


@pytest.fixture(scope="module")
def onprem_program():
    """The real lab program for the onprem stack, as `ailab lab plan --stack onprem` runs it."""
    return plan_lab("onprem", find_project(REPO))


def test_onprem_program_plans_the_platform_through_its_provider(onprem_program):
    types = onprem_program.count_by_type()
    assert COMPONENTS | {"ailab:k8s:Postgres", "ailab:k8s:PostgresBackup"} <= types.keys()
    assert not any(t.startswith("aws:") for t in types)
    (provider,) = onprem_program.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "ailab-onprem"
    custom = [r for r in onprem_program.custom_resources() if r.type.startswith("kubernetes:")]
    assert len(custom) > 40
    assert all(r.provider and r.provider.startswith(provider.urn) for r in custom)


def test_component_tree(onprem):
    by_urn = onprem.plan.by_urn()
    (platform,) = onprem.plan.of_type("ailab:k8s:Platform")
    children = {r.type for r in onprem.plan.children(platform.urn)}
    # On-premises the ingress controller is k3s's Traefik: the lab configures it and installs none.
    on_premises = {"ailab:k8s:Postgres", "ailab:k8s:PostgresBackup", "ailab:k8s:Ingresses", "ailab:k8s:K3sTraefikConfig"}
    assert COMPONENTS - {"ailab:k8s:Platform"} | on_premises == children
    assert all(r.parent in by_urn for r in onprem.plan.resources if r.type.startswith("kubernetes:"))


def test_aws_adds_the_encrypted_storage_class_and_ingress(aws):
    types = aws.plan.count_by_type()
    assert not {"ailab:k8s:Postgres", "ailab:k8s:PostgresBackup"} & types.keys() and types["ailab:k8s:Ingresses"] == 1
    assert types["ailab:k8s:Traefik"] == 1
    storage_class = aws.one("kubernetes:storage.k8s.io/v1:StorageClass", "ailab-encrypted-gp3")
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert storage_class["provisioner"] == "ebs.csi.aws.com" and storage_class["reclaimPolicy"] == "Retain"


def test_aws_volumes_use_the_labs_kms_key_when_given(variant):
    key = "arn:aws:kms:eu-central-1:123456789012:key/0a1b2c3d-0000-4000-8000-0123456789ab"
    lab = variant("aws-eu", volume_key_arn=key)
    storage_class = lab.one("kubernetes:storage.k8s.io/v1:StorageClass", "ailab-encrypted-gp3")
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true", "kmsKeyId": key}


def test_every_object_carries_the_labs_labels(lab):
    expected = tagging.k8s_labels(lab.spec).items()
    for resource in lab.objects():
        metadata = resource.inputs["metadata"]
        assert expected <= metadata["labels"].items(), resource.name
        assert metadata["labels"][labels.COMPONENT], resource.name
        assert tagging.k8s_annotations(lab.spec).items() <= metadata.get("annotations", {}).items(), resource.name
        template = (resource.inputs.get("spec") or {}).get("template")
        if template:
            assert expected <= template["metadata"]["labels"].items(), resource.name
