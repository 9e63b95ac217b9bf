"""The AWS lab as a whole: one explicit EU provider with the lab's tags, its outputs, its secrets."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest
import yaml

from ailab.errors import BadInputError
from ailab.infra.aws.lab import AwsLab, AwsLabArgs
from ailab.infra.tagging import aws_tags
from ailab.plan.mocks import LabMocks
from ailab.plan.runner import run_program

REQUIRED_TYPES = (
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:kms/key:Key",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:rds/instance:Instance",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/flowLog:FlowLog",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
)


def _resource_class(type_token: str) -> type:
    """The pulumi-aws class of ``aws:<module>/<name>:<Class>``."""
    _, module_path, class_name = type_token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    return getattr(module, class_name)


def test_plan_holds_the_lab(lab):
    counts = lab.plan.count_by_type()
    for type_token in REQUIRED_TYPES:
        assert counts[type_token] >= 1, type_token
    assert counts["aws:eks/nodeGroup:NodeGroup"] == 1 + len(lab.spec.gpu_pools)


def test_one_explicit_provider_in_the_spec_region_with_the_lab_tags(lab):
    provider = lab.one("pulumi:providers:aws")
    assert provider.inputs["region"] == lab.spec.region == "eu-central-1"
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": aws_tags(lab.spec)}
    assert {"ailab:owner", "ailab:cost-centre", "ailab:data-classification"} <= set(aws_tags(lab.spec))
    for key in ("profile", "accessKey", "secretKey", "sharedConfigFiles"):
        assert key not in provider.inputs


def test_every_aws_resource_uses_the_lab_provider(lab):
    provider = lab.one("pulumi:providers:aws")
    reference = f"{provider.urn}::"
    resources = lab.aws_resources()
    assert len(resources) > 50
    assert [r.name for r in resources if not (r.provider or "").startswith(reference)] == []


def test_every_resource_that_takes_tags_is_tagged(lab):
    taggable = [r for r in lab.aws_resources() if "tags" in inspect.signature(_resource_class(r.type)._internal_init).parameters]
    assert len(taggable) > 40
    untagged = [f"{r.type} {r.name}" for r in taggable if not r.inputs.get("tags", {}).get("Name")]
    assert untagged == []


def test_lookups_go_through_the_lab_provider(spec, monkeypatch):
    providers: list[tuple[str, str]] = []
    answer = LabMocks.call

    def recording(self, args):
        providers.append((args.token, args.provider))
        return answer(self, args)

    monkeypatch.setattr(LabMocks, "call", recording)
    run_program(lambda: AwsLab(spec.name, AwsLabArgs(spec=spec)), project="ailab", stack="t", kind="lab", region=spec.region)
    tokens = {token for token, _ in providers}
    assert {"aws:index/getCallerIdentity:getCallerIdentity", "aws:index/getAvailabilityZones:getAvailabilityZones"} <= tokens
    assert all("pulumi:providers:aws::ailab-aws::" in provider for _, provider in providers), providers


def test_every_aws_resource_belongs_to_the_lab_component(lab):
    root = lab.one("ailab:aws:Lab")
    for resource in lab.aws_resources():
        ancestor = lab.parent(resource)
        while ancestor is not None and ancestor.urn != root.urn:
            ancestor = lab.parent(ancestor)
        assert ancestor is not None, resource.name


def test_outputs_for_the_platform_layer(lab):
    values = lab.values
    bucket = values["artifact_bucket"]
    assert values["cluster_name"] == lab.spec.cluster.name
    assert values["artifacts_destination"] == f"s3://{bucket}/artifacts"
    role = lab.one("aws:iam/role:Role", f"{lab.spec.name}-mlflow")
    assert values["service_account_annotations"] == {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role.name}"}
    assert values["vpc_id"] == f"{lab.one('aws:ec2/vpc:Vpc').name}-id"
    assert lab.plan.outputs["kubeconfig"] == lab.plan.outputs["backend_store_uri"] == "[secret]"


def test_kubeconfig_reaches_the_private_endpoint_with_aws_get_token(lab):
    config = yaml.safe_load(lab.values["kubeconfig"])
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://") and cluster["server"].endswith(".eu-central-1.eks.amazonaws.com")
    assert cluster["certificate-authority-data"]
    user = config["users"][0]["user"]
    assert "token" not in user
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "ailab-eu",
        "--region",
        "eu-central-1",
        "--output",
        "json",
    ]
    assert config["current-context"] == config["contexts"][0]["name"]


def test_database_password_appears_only_as_secret(plan_variant):
    password = "Distinctive-Db-Password-0042"
    planned = plan_variant(**{"mlflow.database.password": password})
    text = json.dumps(planned.plan.to_json())
    assert password not in text
    assert planned.one("aws:rds/instance:Instance").inputs["password"] == "[secret]"
    assert planned.plan.outputs["backend_store_uri"] == "[secret]"
    assert password in planned.values["backend_store_uri"]  # the value exists, only the plan hides it


def test_a_spec_without_aws_settings_is_refused(spec):
    onprem = spec.model_copy(update={"aws": None})
    with pytest.raises(BadInputError, match=r"^lab\.aws: "):
        run_program(lambda: AwsLab("x", AwsLabArgs(spec=onprem)), project="ailab", stack="t", kind="lab")
