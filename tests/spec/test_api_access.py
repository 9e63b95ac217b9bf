"""The declared path from the deployer to the EKS API: a Transit Gateway, or a restricted public endpoint."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest
from pydantic import ValidationError

from ailab.spec.model import AwsSettings, PublicEndpointAccess, TransitGatewayAccess

TGW = "tgw-0a1b2c3d4e5f60718"


def settings(**extra: Any) -> AwsSettings:
    return AwsSettings.model_validate({"region": "eu-central-1", **extra})


def test_a_transit_gateway_path_admits_its_networks_to_the_private_endpoint():
    aws = settings(api_access={"kind": "transit_gateway", "transit_gateway_id": TGW, "networks": ["10.200.0.0/24"]})
    assert isinstance(aws.api_access, TransitGatewayAccess)
    assert aws.api_networks == [IPv4Network("10.200.0.0/24")]
    assert aws.public_api_cidrs == []


def test_a_public_endpoint_is_restricted_to_its_networks():
    aws = settings(api_access={"kind": "public", "public_cidrs": ["198.51.100.0/24"]})
    assert isinstance(aws.api_access, PublicEndpointAccess)
    assert aws.public_api_cidrs == [IPv4Network("198.51.100.0/24")]
    assert aws.api_networks == []


@pytest.mark.parametrize(
    ("api_access", "message"),
    [
        (None, "no declared path from the deployer: add api_access"),
        ({"kind": "public", "public_cidrs": ["0.0.0.0/0"]}, "open the cluster API to the internet"),
        ({"kind": "public", "public_cidrs": []}, "at least 1 item"),
        ({"kind": "public", "public_cidrs": ["10.200.0.0/24"]}, "is a private \\(RFC 1918\\) network"),
        ({"kind": "transit_gateway", "transit_gateway_id": TGW, "networks": ["0.0.0.0/0"]}, "open the cluster API"),
        ({"kind": "transit_gateway", "transit_gateway_id": TGW, "networks": []}, "at least 1 item"),
        ({"kind": "transit_gateway", "transit_gateway_id": "vgw-0a1b2c3d", "networks": ["10.200.0.0/24"]}, "tgw-"),
        ({"kind": "peering", "networks": ["10.200.0.0/24"]}, "does not match any of the expected tags"),
    ],
)
def test_a_private_endpoint_without_a_path_or_a_world_open_one_is_refused(api_access, message):
    data = {} if api_access is None else {"api_access": api_access}
    with pytest.raises(ValidationError, match=message):
        settings(**data)


def test_the_old_setting_names_its_replacement():
    with pytest.raises(ValidationError, match="api_allowed_cidrs is replaced by api_access"):
        settings(api_allowed_cidrs=["10.200.0.0/24"])
