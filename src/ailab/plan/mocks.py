"""What the mock monitor answers: plausible outputs for the resources and invokes the programs use.

Outputs echo the inputs (as a provider would) plus the attributes a real provider
computes and later resources consume: ids, ARNs, endpoints, the EKS OIDC issuer. Values are
recognisably fake: account ``123456789012`` is AWS's documentation account.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

ACCOUNT_ID = "123456789012"
FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").decode()

OutputFactory = Callable[[MockResourceArgs, str], dict[str, Any]]


def _hex(seed: str, length: int) -> str:
    """Stable fake hexadecimal identifiers (resource ids, OIDC issuer ids), distinct per resource."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _eks_cluster(args: MockResourceArgs, region: str) -> dict[str, Any]:
    name = args.inputs.get("name") or args.name
    vpc_config = dict(args.inputs.get("vpcConfig") or {})
    vpc_config.update(clusterSecurityGroupId=f"sg-{_hex(name + 'cluster', 17)}", vpcId=f"vpc-{_hex(name, 17)}")
    return {
        "arn": _arn("eks", region, f"cluster/{name}"),
        "endpoint": f"https://{_hex(name, 32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": FAKE_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{_hex(name, 32).upper()}"}]}],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }


def _rds_instance(args: MockResourceArgs, region: str) -> dict[str, Any]:
    host = f"{args.name}.abcdefghijkl.{region}.rds.amazonaws.com"
    return {"arn": _arn("rds", region, f"db:{args.name}"), "address": host, "endpoint": f"{host}:5432", "port": 5432}


def _s3_bucket(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    bucket = args.inputs.get("bucket") or f"{args.name}-0123456"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketRegionalDomainName": f"{bucket}.s3.amazonaws.com"}


def _kms_key(args: MockResourceArgs, region: str) -> dict[str, Any]:
    key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"kms:{args.name}"))
    return {"arn": _arn("kms", region, f"key/{key_id}"), "keyId": key_id}


def _log_group(args: MockResourceArgs, region: str) -> dict[str, Any]:
    name = args.inputs.get("name") or args.name
    return {"arn": _arn("logs", region, f"log-group:{name}"), "name": name}


def _launch_template(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    return {"latestVersion": 1, "defaultVersion": 1}


def _eip(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    return {"allocationId": f"eipalloc-{_hex(args.name, 17)}", "publicIp": f"203.0.113.{int(_hex(args.name, 2), 16) % 254 + 1}"}


def _iam(kind: str) -> OutputFactory:
    def factory(args: MockResourceArgs, _region: str) -> dict[str, Any]:
        name = args.inputs.get("name") or args.name
        return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{name}", "name": name}

    return factory


def _named(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    """The name the provider would generate when the program leaves it to auto-naming."""
    return {"name": args.inputs.get("name") or args.name}


def _oidc_provider(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    url = str(args.inputs.get("url", "")).removeprefix("https://")
    return {"arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{url}"}


def _vpc_endpoint(args: MockResourceArgs, region: str) -> dict[str, Any]:
    """An interface endpoint's DNS entries, as EC2 reports them (the first is the wildcard, for SDKs)."""
    if args.inputs.get("vpcEndpointType") != "Interface":
        return {}
    endpoint = f"vpce-{_hex(args.name, 17)}"
    service = str(args.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    return {
        "dnsEntries": [
            {"dnsName": f"*.{endpoint}.{service}.{region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"},
            {"dnsName": f"{endpoint}.{service}.{region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"},
        ]
    }


def _random_id(args: MockResourceArgs, _region: str) -> dict[str, Any]:
    """pulumi-random's RandomId: ``byte_length`` random bytes, as hex (a stable stand-in per resource)."""
    length = int(args.inputs.get("byteLength", 8))
    return {"hex": _hex(args.name, 2 * length)}


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
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/eip:Eip": _eip,
    "random:index/randomId:RandomId": _random_id,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:iam/role:Role": _iam("role"),
    "aws:iam/policy:Policy": _iam("policy"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:rds/parameterGroup:ParameterGroup": _named,
    "aws:rds/subnetGroup:SubnetGroup": _named,
}
"""Type-specific outputs; anything not listed gets the inputs, an id, and an ARN for AWS types."""


INVOKES: dict[str, Callable[[str], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda region: {
        "names": [f"{region}{suffix}" for suffix in "abc"],
        "zoneIds": [f"{region}-az{index}" for index in (1, 2, 3)],
        "id": region,
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _region: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ailab-plan",
        "userId": "AIDAMOCK",
        "id": ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda _region: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:index/getRegion:getRegion": lambda region: {"name": region, "region": region, "id": region},
}
"""Answers to the invokes (data sources) the programs use, given the mocked region; any other raises."""


class UnmockedInvokeError(LookupError):
    """A program called a data source the offline plan has no answer for: a gap in ailab, not bad input."""

    def __init__(self, token: str) -> None:
        super().__init__(f"the offline plan has no answer for the data source {token}: add one to INVOKES in ailab.plan.mocks")
        self.token = token


STACK_REFERENCE = "pulumi:pulumi:StackReference"


@dataclass(frozen=True)
class StackExports:
    """A planned stack's outputs as a ``StackReference`` to it reads them: values in clear, in memory only."""

    values: dict[str, Any]
    secret_names: frozenset[str]
    """Outputs the engine would report in ``secretOutputNames``: a reference hands them on as secrets."""


class UnmockedStackReferenceError(LookupError):
    """A program read a stack the offline plan did not plan first: a gap in ailab, not bad input."""

    def __init__(self, stack: str) -> None:
        super().__init__(f"the offline plan has no outputs of the stack {stack}: plan it first and pass its exports")
        self.stack = stack


class LabMocks(Mocks):
    """Mocks for the lab and sandbox programs; ``region`` is the AWS region invokes report.

    ``references`` answers the program's ``StackReference`` reads, by the referenced stack's full name
    (``organization/<project>/<stack>``): the planned outputs of that stack, so a layer planned after
    another reads what the other really exported.
    """

    def __init__(self, region: str | None = None, references: Mapping[str, StackExports] | None = None) -> None:
        self.region = region or "eu-central-1"
        self.references = dict(references or {})

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(str(args.resource_id or args.inputs.get("name")))
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

    def _stack_reference(self, stack: str) -> tuple[str, dict[str, Any]]:
        exports = self.references.get(stack)
        if exports is None:
            raise UnmockedStackReferenceError(stack)
        return stack, {"name": stack, "outputs": exports.values, "secretOutputNames": sorted(exports.secret_names)}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """The answer to a data-source call; one without an answer in :data:`INVOKES` raises.

        An empty answer would let a program read ``None`` where a real provider returns a value,
        and the plan would silently differ from what ``pulumi up`` does.
        """
        answer = INVOKES.get(args.token)
        if answer is None:
            raise UnmockedInvokeError(args.token)
        # No failures is an empty list: the SDK's MockMonitor iterates it, and None would raise.
        return answer(self.region), []
