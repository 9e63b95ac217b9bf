"""The lab's VPC: private subnets in three zones for everything, public subnets only for NAT.

No subnet assigns public IPs. Each zone has its own NAT gateway and private route table, so
losing one zone does not cut the others off. Routes are ``Route`` resources of their own, never a
route table's inline list: an inline list is authoritative and would delete the routes that other
owners add (a Transit Gateway's or a VPN's routes to the institution's networks). Flow logs of all traffic go to an encrypted
CloudWatch log group with bounded retention.

**AWS APIs from inside the VPC.** Two kinds of S3 traffic leave the private subnets, and each
takes its own path:

- *Everything that uses S3's regional names* (the nodes pulling image layers from ECR, which
  serves them from S3; anything else on the nodes) goes through the S3 *gateway* endpoint: free,
  on the AWS network, no NAT. The S3 interface endpoint has **no** private DNS, so it never takes
  this traffic over (with private DNS, every in-VPC S3 request, ECR's layers included, would be
  billed per GB through PrivateLink).
- *MLflow's artifacts* go to the S3 *interface* endpoint by its own name
  (:attr:`Network.s3_endpoint_url`, ``https://bucket.vpce-...s3.<region>.vpce.amazonaws.com``,
  the form AWS documents for SDK clients, given to MLflow as ``MLFLOW_S3_ENDPOINT_URL``): an
  address inside the VPC, which is what MLflow's egress NetworkPolicy admits (the VPC on 443);
  a gateway endpoint's public prefix list could not be written as a NetworkPolicy before deploy.

STS (the IRSA web identity exchange) and KMS (the in-cluster reaper signs its trail's checkpoints
with the lab's trail key) have interface endpoints with private DNS: their regional names resolve
inside the VPC, which is all the reaper's egress policy admits. The endpoints' security group admits HTTPS from the VPC and
nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from ailab.errors import OperationFailedError
from ailab.infra.aws.account import AwsAccount
from ailab.infra.aws.logs import encrypted_log_group
from ailab.infra.aws.policies import document, service_trust, statement
from ailab.spec.constants import ZONE_COUNT

HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
INTERFACE_ENDPOINT_SERVICES = ("s3", "sts", "kms")
"""AWS services the lab's pods call from the private subnets: MLflow's artifacts and the reaper's trail copies, the
IRSA token exchange, the reaper's checkpoint signatures."""


def subnet_layout(vpc_cidr: IPv4Network) -> tuple[list[IPv4Network], list[IPv4Network]]:
    """Private and public subnets of ``vpc_cidr``, one of each per zone.

    The first three quarters are the private subnets (large: the VPC CNI gives every pod a VPC
    address); the public subnets, which hold only NAT gateways, are sixteenths of the VPC taken from
    the last quarter, leaving the rest of it free (e.g. for the lab's mirrors).
    """
    quarters = list(vpc_cidr.subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))[:ZONE_COUNT]
    return quarters[:ZONE_COUNT], public


def sdk_endpoint_url(entries: Sequence[aws.ec2.outputs.VpcEndpointDnsEntry] | None) -> str:
    """``https://bucket.<endpoint name>`` from the endpoint's wildcard DNS entry ``*.vpce-....s3.<region>.vpce.amazonaws.com``."""
    names = [entry.dns_name for entry in entries or () if entry.dns_name and entry.dns_name.startswith("*.")]
    if not names:
        raise OperationFailedError("aws: the S3 interface endpoint has no wildcard DNS name; it cannot be addressed by SDKs")
    return f"https://bucket.{names[0].removeprefix('*.')}"


def zone_names(available: Sequence[str]) -> list[str]:
    """The first three available zones; fewer is a region the lab cannot be spread over."""
    if len(available) < ZONE_COUNT:
        raise OperationFailedError(
            f"aws: the region offers {len(available)} availability zone(s), the lab needs {ZONE_COUNT}; "
            "choose another region or set lab.aws.availability_zones"
        )
    return list(available[:ZONE_COUNT])


@dataclass(frozen=True)
class NetworkArgs:
    lab_name: str
    account: AwsAccount
    vpc_cidr: IPv4Network
    zones: Sequence[pulumi.Input[str]]
    flow_log_group: str
    log_retention_days: int
    logs_key_arn: pulumi.Input[str]


class Network(pulumi.ComponentResource):
    """VPC, subnets, NAT gateways, route tables, S3 gateway endpoint, S3, STS and KMS interface endpoints, VPC flow logs."""

    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    """One per zone, for routes to other networks (a Transit Gateway's) added as separate ``Route`` resources."""
    s3_endpoint_url: pulumi.Output[str]
    """The S3 interface endpoint for SDK clients (``https://bucket.vpce-...``): MLflow's ``MLFLOW_S3_ENDPOINT_URL``."""
    interface_endpoints: dict[str, aws.ec2.VpcEndpoint]
    """Service name (``s3``, ``sts``) to its interface endpoint."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:Network", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        lab = args.lab_name
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(args.vpc_cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,  # the private EKS endpoint and VPC endpoints resolve through VPC DNS
            tags={"Name": lab},
            opts=child,
        )
        # The default security group is attached to anything launched without one: leave it without rules.
        aws.ec2.DefaultSecurityGroup(f"{name}-default", vpc_id=self.vpc.id, tags={"Name": f"{lab}-default-unused"}, opts=child)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": lab}, opts=child)
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=self.vpc.id, tags={"Name": f"{lab}-public"}, opts=child)
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_routes.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=gateway.id,
            opts=child,
        )
        private_cidrs, public_cidrs = subnet_layout(args.vpc_cidr)
        self.private_subnets, self.public_subnets, private_routes = [], [], []
        for index, zone in enumerate(args.zones):
            public = self._subnet(f"public-{index}", public_cidrs[index], zone, public_routes, {})
            address = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", tags={"Name": f"{lab}-nat-{index}"}, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                subnet_id=public.id,
                allocation_id=address.allocation_id,
                connectivity_type="public",
                tags={"Name": f"{lab}-nat-{index}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
            )
            routes = aws.ec2.RouteTable(
                f"{name}-private-{index}", vpc_id=self.vpc.id, tags={"Name": f"{lab}-private-{index}"}, opts=child
            )
            aws.ec2.Route(
                f"{name}-private-{index}-default",
                route_table_id=routes.id,
                destination_cidr_block=ANYWHERE,
                nat_gateway_id=nat.id,
                opts=child,
            )
            # Internal load balancers (the VPN-only ingress) go to the private subnets; the public ones
            # carry no ELB role tag, so no internet-facing load balancer finds a subnet by default.
            roles = {"kubernetes.io/role/internal-elb": "1"}
            self.private_subnets.append(self._subnet(f"private-{index}", private_cidrs[index], zone, routes, roles))
            self.public_subnets.append(public)
            private_routes.append(routes)
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=self._service_name("s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in private_routes],
            tags={"Name": f"{lab}-s3"},
            opts=child,
        )
        self.private_route_tables = private_routes
        self.interface_endpoints = self._interface_endpoints()
        self.s3_endpoint_url = self.interface_endpoints["s3"].dns_entries.apply(sdk_endpoint_url)
        self._flow_logs()
        self.register_outputs({"vpcId": self.vpc.id, "privateSubnetIds": [subnet.id for subnet in self.private_subnets]})

    def _subnet(
        self, kind: str, cidr: IPv4Network, zone: pulumi.Input[str], routes: aws.ec2.RouteTable, extra_tags: dict[str, str]
    ) -> aws.ec2.Subnet:
        subnet = aws.ec2.Subnet(
            f"{self._name}-{kind}",
            vpc_id=self.vpc.id,
            cidr_block=str(cidr),
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={"Name": f"{self._args.lab_name}-{kind}", **extra_tags},
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ec2.RouteTableAssociation(
            f"{self._name}-{kind}", subnet_id=subnet.id, route_table_id=routes.id, opts=pulumi.ResourceOptions(parent=self)
        )
        return subnet

    def _service_name(self, service: str) -> str:
        return f"com.amazonaws.{self._args.account.region}.{service}"

    def _interface_endpoints(self) -> dict[str, aws.ec2.VpcEndpoint]:
        """One interface endpoint per service in every private subnet, behind a security group open to the VPC on 443."""
        args, name = self._args, self._name
        firewall = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            description=f"{args.lab_name}: AWS API interface endpoints, HTTPS from the VPC only",
            vpc_id=self.vpc.id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="HTTPS to AWS APIs from the VPC",
                    protocol="tcp",
                    from_port=HTTPS_PORT,
                    to_port=HTTPS_PORT,
                    cidr_blocks=[str(args.vpc_cidr)],
                )
            ],
            # No egress rules: an endpoint answers, it starts no connections.
            tags={"Name": f"{args.lab_name}-endpoints"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}-interface",
                vpc_id=self.vpc.id,
                service_name=self._service_name(service),
                vpc_endpoint_type="Interface",
                subnet_ids=[subnet.id for subnet in self.private_subnets],
                security_group_ids=[firewall.id],
                # S3 by its endpoint name only: the regional names stay on the free gateway (module docstring).
                private_dns_enabled=service != "s3",
                tags={"Name": f"{args.lab_name}-{service}"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for service in INTERFACE_ENDPOINT_SERVICES
        }

    def _flow_logs(self) -> None:
        args, name = self._args, self._name
        child = pulumi.ResourceOptions(parent=self)
        group = encrypted_log_group(
            f"{name}-flow-logs",
            log_group_name=args.flow_log_group,
            retention_days=args.log_retention_days,
            kms_key_arn=args.logs_key_arn,
            opts=child,
        )
        account = args.account
        # Confused-deputy guard: only flow logs of this account may assume the role.
        trust = service_trust(
            "vpc-flow-logs.amazonaws.com",
            condition={
                "StringEquals": {"aws:SourceAccount": account.account_id},
                "ArnLike": {"aws:SourceArn": account.arn("ec2", "vpc-flow-log/*")},
            },
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            description=f"{args.lab_name}: VPC flow logs delivery",
            assume_role_policy=trust,
            tags={"Name": f"{args.lab_name}-flow-logs"},
            opts=child,
        )
        streams = pulumi.Output.concat(group.arn, ":*")
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=document(
                statement(
                    "DeliverToTheFlowLogGroup",
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "logs:DescribeLogGroups"],
                    [group.arn, streams],
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{args.lab_name}-flow-logs"},
            opts=pulumi.ResourceOptions(parent=self),
        )
