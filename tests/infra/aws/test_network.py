"""The VPC: private subnets in three zones, NAT only in public subnets, flow logs, no public IPs."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from ailab.errors import OperationFailedError
from ailab.infra.aws.network import subnet_layout, zone_names

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"


def _subnets(lab, kind):
    return sorted((r for r in lab.of_type(SUBNET) if f"-{kind}-" in r.name), key=lambda r: r.name)


def test_no_subnet_assigns_public_ips(lab):
    subnets = lab.of_type(SUBNET)
    assert len(subnets) == 6
    assert all(subnet.inputs["mapPublicIpOnLaunch"] is False for subnet in subnets)


def test_private_subnets_span_three_zones_inside_the_vpc(lab):
    vpc = IPv4Network(lab.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"])
    assert vpc == lab.spec.aws.vpc_cidr
    private = _subnets(lab, "private")
    assert [subnet.inputs["availabilityZone"] for subnet in private] == ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    networks = [IPv4Network(subnet.inputs["cidrBlock"]) for subnet in lab.of_type(SUBNET)]
    assert all(network.subnet_of(vpc) for network in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_spec_zones_are_used_when_given(plan_variant):
    zones = ["eu-central-1c", "eu-central-1b", "eu-central-1a"]
    planned = plan_variant(**{"aws.availability_zones": zones})
    assert [s.inputs["availabilityZone"] for s in _subnets(planned, "private")] == zones


def test_private_subnets_leave_through_their_zones_nat_and_only_public_ones_reach_the_internet(lab):
    nat_ids = {f"{nat.name}-id" for nat in lab.of_type("aws:ec2/natGateway:NatGateway")}
    associations = {
        a.inputs["subnetId"]: a.inputs["routeTableId"] for a in lab.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    }
    routes = {}
    for route in lab.of_type("aws:ec2/route:Route"):
        routes.setdefault(route.inputs["routeTableId"].removesuffix("-id"), []).append(route.inputs)
    gateway_id = f"{lab.one('aws:ec2/internetGateway:InternetGateway').name}-id"
    for subnet in _subnets(lab, "private"):
        # Besides the default route, only the declared networks, through the Transit Gateway (test_api_path.py).
        table = routes[associations[f"{subnet.name}-id"].removesuffix("-id")]
        (route,) = [r for r in table if "transitGatewayId" not in r]
        assert route["destinationCidrBlock"] == "0.0.0.0/0"
        assert route["natGatewayId"] in nat_ids and "gatewayId" not in route
    for subnet in _subnets(lab, "public"):
        (route,) = routes[associations[f"{subnet.name}-id"].removesuffix("-id")]
        assert route["gatewayId"] == gateway_id


def test_route_tables_hold_no_inline_routes(lab):
    """An inline route list is authoritative: it would delete routes other owners add (a Transit Gateway's)."""
    tables = lab.of_type(ROUTE_TABLE)
    assert len(tables) == 4
    assert [table.name for table in tables if table.inputs.get("routes")] == []


def test_nat_gateways_sit_in_public_subnets(lab):
    public_ids = {f"{s.name}-id" for s in _subnets(lab, "public")}
    nats = lab.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 3 and {nat.inputs["subnetId"] for nat in nats} == public_ids


def test_internal_load_balancers_only_in_private_subnets(lab):
    assert all(s.inputs["tags"].get("kubernetes.io/role/internal-elb") == "1" for s in _subnets(lab, "private"))
    assert not any("kubernetes.io/role/elb" in s.inputs["tags"] for s in lab.of_type(SUBNET))


def test_default_security_group_has_no_rules(lab):
    default = lab.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


def _endpoints(lab):
    return {(e.inputs["serviceName"], e.inputs["vpcEndpointType"]): e for e in lab.of_type(ENDPOINT)}


def test_s3_gateway_endpoint_serves_the_private_route_tables(lab):
    endpoint = _endpoints(lab)["com.amazonaws.eu-central-1.s3", "Gateway"]
    private_tables = {f"{t.name}-id" for t in lab.of_type(ROUTE_TABLE) if "-private-" in t.name}
    assert set(endpoint.inputs["routeTableIds"]) == private_tables


def test_s3_sts_and_kms_interface_endpoints_sit_in_the_private_subnets(lab):
    endpoints = _endpoints(lab)
    assert set(endpoints) == {
        ("com.amazonaws.eu-central-1.s3", "Gateway"),
        ("com.amazonaws.eu-central-1.s3", "Interface"),
        ("com.amazonaws.eu-central-1.sts", "Interface"),
        ("com.amazonaws.eu-central-1.kms", "Interface"),
    }
    private = sorted(f"{subnet.name}-id" for subnet in _subnets(lab, "private"))
    group = lab.one("aws:ec2/securityGroup:SecurityGroup", "ailab-network-endpoints")
    for service in ("s3", "sts", "kms"):
        endpoint = endpoints[f"com.amazonaws.eu-central-1.{service}", "Interface"]
        assert sorted(endpoint.inputs["subnetIds"]) == private
        assert endpoint.inputs["securityGroupIds"] == [f"{group.name}-id"]
        assert "routeTableIds" not in endpoint.inputs
    for service in ("sts", "kms"):  # the SDKs' regional names resolve inside the VPC
        assert endpoints[f"com.amazonaws.eu-central-1.{service}", "Interface"].inputs["privateDnsEnabled"] is True


def test_s3s_regional_names_stay_on_the_free_gateway_endpoint(lab):
    """With private DNS the interface endpoint would take every in-VPC S3 request, ECR's image layers
    included, through PrivateLink (billed per GB); without it, only MLflow, which names it, goes there."""
    endpoints = _endpoints(lab)
    s3 = endpoints["com.amazonaws.eu-central-1.s3", "Interface"]
    assert s3.inputs["privateDnsEnabled"] is False and "dnsOptions" not in s3.inputs
    assert endpoints["com.amazonaws.eu-central-1.s3", "Gateway"].inputs["routeTableIds"]


def test_endpoints_admit_https_from_the_vpc_only(lab):
    group = lab.one("aws:ec2/securityGroup:SecurityGroup", "ailab-network-endpoints")
    (rule,) = group.inputs["ingress"]
    assert (rule["protocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule["cidrBlocks"] == [str(lab.spec.aws.vpc_cidr)] and "securityGroups" not in rule
    assert not group.inputs.get("egress")
    assert group.inputs["vpcId"] == f"{lab.one('aws:ec2/vpc:Vpc').name}-id"


def test_flow_logs_capture_all_traffic_into_an_encrypted_bounded_log_group(lab):
    flow = lab.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    group = lab.one("aws:cloudwatch/logGroup:LogGroup", "ailab-network-flow-logs")
    assert flow.inputs["logDestination"] == f"arn:aws:logs:eu-central-1:123456789012:log-group:{group.inputs['name']}"
    assert group.inputs["retentionInDays"] == lab.spec.aws.log_retention_days == 365
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:eu-central-1:")


def test_flow_log_role_is_confined(lab):
    role = lab.one("aws:iam/role:Role", "ailab-network-flow-logs")
    (trust,) = lab.statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    (allow,) = lab.statements(lab.one("aws:iam/rolePolicy:RolePolicy", "ailab-network-flow-logs"))
    group = lab.one("aws:cloudwatch/logGroup:LogGroup", "ailab-network-flow-logs").inputs["name"]
    arn = f"arn:aws:logs:eu-central-1:123456789012:log-group:{group}"
    assert allow["Resource"] == [arn, f"{arn}:*"]
    assert all(action.startswith("logs:") and "*" not in action for action in allow["Action"])


def test_subnet_layout_of_a_small_vpc():
    private, public = subnet_layout(IPv4Network("10.8.0.0/20"))
    assert private == [IPv4Network("10.8.0.0/22"), IPv4Network("10.8.4.0/22"), IPv4Network("10.8.8.0/22")]
    assert public == [IPv4Network("10.8.12.0/24"), IPv4Network("10.8.13.0/24"), IPv4Network("10.8.14.0/24")]


def test_a_region_with_two_zones_is_an_error():
    assert zone_names(["eu-x-1a", "eu-x-1b", "eu-x-1c", "eu-x-1d"]) == ["eu-x-1a", "eu-x-1b", "eu-x-1c"]
    with pytest.raises(OperationFailedError, match="offers 2 availability zone"):
        zone_names(["eu-x-1a", "eu-x-1b"])


def test_the_sdk_endpoint_url_is_built_from_the_wildcard_dns_entry():
    import pulumi_aws as aws

    from ailab.errors import OperationFailedError
    from ailab.infra.aws.network import sdk_endpoint_url

    entries = [
        aws.ec2.outputs.VpcEndpointDnsEntry(dns_name="vpce-1.s3.eu-central-1.vpce.amazonaws.com", hosted_zone_id="Z"),
        aws.ec2.outputs.VpcEndpointDnsEntry(dns_name="*.vpce-1.s3.eu-central-1.vpce.amazonaws.com", hosted_zone_id="Z"),
    ]
    assert sdk_endpoint_url(entries) == "https://bucket.vpce-1.s3.eu-central-1.vpce.amazonaws.com"
    with pytest.raises(OperationFailedError, match="no wildcard DNS name"):
        sdk_endpoint_url([])
