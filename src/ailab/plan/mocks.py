"""What the mock monitor answers: plausible outputs for the resources and invokes the programs use.

Outputs echo the inputs (as a provider would) plus the attributes a real provider
computes and later resources consume: ids, ARNs, endpoints, the EKS OIDC issuer. Values are
recognisably fake: account ``123456789012`` is AWS's documentation account.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

ACCOUNT_ID = "123456789012"
FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").decode()

OutputFactory = Callable[[MockResourceArgs, str], dict[str, Any]]


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _eks_cluster(args: MockResourceArgs, region: str) -> dict[str, Any]:
    return {
        "arn": _arn("eks", region, f"cluster/{args.name}"),
        "endpoint": f"https://{args.name.upper()}0123456789.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": FAKE_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"}]}],
        "status": "ACTIVE",
    }


def _rds_instance(args: MockResourceArgs, region: str) -> dict[str, Any]:
    host = f"{args.name}.abcdefghijkl.{region}.rds.amazonaws.com"
    return {"arn": _arn("rds", region, f"db:{args.name}"), "address": host, "endpoint": f"{host}:5432", "port": 5432}


def _s3_bucket(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    bucket = args.inputs.get("bucket") or f"{args.name}-0123456"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketRegionalDomainName": f"{bucket}.s3.amazonaws.com"}


def _kms_key(args: MockResourceArgs, region: str) -> dict[str, Any]:
    key_id = "0a1b2c3d-0000-4000-8000-0123456789ab"
    return {"arn": _arn("kms", region, f"key/{key_id}"), "keyId": key_id}


def _iam(kind: str) -> OutputFactory:
    def factory(args: MockResourceArgs, _region: str) -> dict[str, Any]:
        name = args.inputs.get("name") or args.name
        return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{name}", "name": name}

    return factory


def _oidc_provider(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    url = str(args.inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"}


def _kubernetes(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    metadata = dict(args.inputs.get("metadata") or {})
    metadata.setdefault("name", args.name)
    return {"metadata": metadata}


OUTPUTS: dict[str, OutputFactory] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:s3/bucketV2:BucketV2": _s3_bucket,
    "aws:kms/key:Key": _kms_key,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
}
"""Type-specific outputs; anything not listed gets the inputs, an id, and an ARN for AWS types."""


class LabMocks(Mocks):
    """Mocks for the lab and sandbox programs; ``region`` is the AWS region invokes report."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region or "eu-central-1"

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ.startswith("aws:"):
            service = args.typ.split(":")[1].split("/")[0]
            outputs.setdefault("arn", _arn(service, self.region, f"{args.name}"))
            outputs.setdefault("tagsAll", args.inputs.get("tags") or {})
        if args.typ.startswith("kubernetes:") and not args.typ.startswith("kubernetes:helm"):
            outputs.update(_kubernetes(args, self.region))
        factory = OUTPUTS.get(args.typ)
        if factory is not None:
            outputs.update(factory(args, self.region))
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{suffix}" for suffix in "abc"]
            return {"names": names, "zoneIds": [f"euc1-az{i}" for i in (1, 2, 3)], "id": self.region}, None
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ailab-plan",
                "userId": "AIDAMOCK",
                "id": ACCOUNT_ID,
            }, None
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, None
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, None
        return {}, None
