"""The deployer's declared path to the EKS API on the plan graph: the Transit Gateway attachment, a
separate route to each network in each private route table, the API firewall and the endpoint
settings, and the public-endpoint alternative."""

from __future__ import annotations

import pytest

TGW = "tgw-0a1b2c3d4e5f60718"
ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
CLUSTER = "aws:eks/cluster:Cluster"
SUBNET = "aws:ec2/subnet:Subnet"


def test_the_vpc_is_attached_to_the_transit_gateway_in_every_private_subnet(lab):
    attachment = lab.one(ATTACHMENT)
    assert attachment.inputs["transitGatewayId"] == TGW
    assert attachment.inputs["vpcId"] == "ailab-network-vpc-id"
    private = sorted(f"{s.name}-id" for s in lab.of_type(SUBNET) if "-private-" in s.name)
    assert len(private) == 3 and sorted(attachment.inputs["subnetIds"]) == private
    # The gateway's own route tables belong to its owner (and a shared gateway refuses these settings).
    assert not {"transitGatewayDefaultRouteTableAssociation", "transitGatewayDefaultRouteTablePropagation"} & set(
        attachment.inputs
    )


def test_each_private_route_table_routes_the_vpn_through_the_gateway_as_a_separate_route(lab):
    tables = {f"{t.name}-id": t for t in lab.of_type(ROUTE_TABLE) if "-private-" in t.name}
    assert len(tables) == 3
    assert all("routes" not in table.inputs for table in tables.values())  # inline routes would overwrite others'
    via_gateway = [r for r in lab.of_type(ROUTE) if "transitGatewayId" in r.inputs]
    assert sorted((r.inputs["routeTableId"], r.inputs["destinationCidrBlock"]) for r in via_gateway) == sorted(
        (table, "10.200.0.0/24") for table in tables
    )
    attachment = lab.one(ATTACHMENT)
    for route in via_gateway:
        assert route.inputs["transitGatewayId"] == TGW
        assert attachment.urn in route.dependencies  # EC2 refuses a route to a gateway not attached yet


def test_every_declared_network_gets_its_routes_and_is_admitted_on_443(plan_variant):
    two = plan_variant(
        **{
            "aws.api_access": {
                "kind": "transit_gateway",
                "transit_gateway_id": TGW,
                "networks": ["10.200.0.0/24", "172.20.8.0/22"],
            }
        }
    )
    destinations = sorted(r.inputs["destinationCidrBlock"] for r in two.of_type(ROUTE) if "transitGatewayId" in r.inputs)
    assert destinations == ["10.200.0.0/24"] * 3 + ["172.20.8.0/22"] * 3
    (rule,) = two.one("aws:ec2/securityGroup:SecurityGroup", "ailab-eks-api").inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (443, 443)
    assert rule["cidrBlocks"] == ["10.40.0.0/16", "10.200.0.0/24", "172.20.8.0/22"]


def test_with_a_transit_gateway_the_endpoint_stays_private_only(lab):
    vpc_config = lab.one(CLUSTER).inputs["vpcConfig"]
    assert (vpc_config["endpointPrivateAccess"], vpc_config["endpointPublicAccess"]) == (True, False)
    assert "publicAccessCidrs" not in vpc_config


@pytest.fixture(scope="module")
def public(plan_variant):
    return plan_variant(**{"aws.api_access": {"kind": "public", "public_cidrs": ["198.51.100.0/24", "203.0.113.7/32"]}})


def test_a_public_endpoint_is_open_to_the_listed_networks_only_and_keeps_private_access(public):
    vpc_config = public.one(CLUSTER).inputs["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is True
    assert vpc_config["endpointPrivateAccess"] is True  # nodes and the VPC never leave it
    assert vpc_config["publicAccessCidrs"] == ["198.51.100.0/24", "203.0.113.7/32"]


def test_a_public_endpoint_builds_no_transit_gateway_path_and_admits_only_the_vpc_privately(public):
    assert public.of_type(ATTACHMENT) == []
    assert [r for r in public.of_type(ROUTE) if "transitGatewayId" in r.inputs] == []
    (rule,) = public.one("aws:ec2/securityGroup:SecurityGroup", "ailab-eks-api").inputs["ingress"]
    assert rule["cidrBlocks"] == ["10.40.0.0/16"]
