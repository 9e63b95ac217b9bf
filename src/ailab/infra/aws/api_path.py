"""The deployer's network path to the private EKS API: the lab's VPC attached to the institution's
Transit Gateway, and the institution's networks routed through it.

Nothing else connects those networks to a VPC this stack creates, and the same ``pulumi up``
installs the Kubernetes layer through the private endpoint: the Kubernetes provider therefore
waits for the attachment and the routes (``TransitGatewayPath.ready``). The routes are separate
``aws.ec2.Route`` resources, one per private route table and network, so routes others add to
those tables (a network team's, a second attachment's) are never overwritten, as inline
``RouteTable.routes`` would. The attachment leaves the Transit Gateway's own route tables alone
(no association or propagation settings): those belong to the gateway's owner, and a gateway
shared from another account refuses them. Return traffic is the owner's part: the gateway's
route table must send the VPC's network to this attachment (propagation or a static route);
docs/deploy.md, "The network path to the API", lists what to ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class TransitGatewayPathArgs:
    lab_name: str
    transit_gateway_id: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """One private subnet per zone: the attachment's interfaces, so every zone reaches the gateway."""
    route_table_ids: Sequence[pulumi.Input[str]]
    """The private route tables (one per zone) that get a route to each network."""
    networks: Sequence[IPv4Network]


class TransitGatewayPath(pulumi.ComponentResource):
    """A Transit Gateway VPC attachment in the private subnets and a route to each network in each private table."""

    attachment: aws.ec2transitgateway.VpcAttachment
    routes: list[aws.ec2.Route]
    ready: list[pulumi.Resource]
    """What must exist before anything behind the Transit Gateway reaches the VPC: the attachment and the routes."""

    def __init__(self, name: str, args: TransitGatewayPathArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:aws:TransitGatewayPath", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.attachment = aws.ec2transitgateway.VpcAttachment(
            name,
            transit_gateway_id=args.transit_gateway_id,
            vpc_id=args.vpc_id,
            subnet_ids=list(args.subnet_ids),
            dns_support="enable",
            tags={"Name": f"{args.lab_name}-api-path"},
            opts=child,
        )
        # The gateway id is read from the attachment, so each route waits for it: a route to a gateway not
        # yet attached to the VPC is refused by EC2.
        self.routes = [
            aws.ec2.Route(
                f"{name}-{index}-{_label(network)}",
                route_table_id=table_id,
                destination_cidr_block=str(network),
                transit_gateway_id=self.attachment.transit_gateway_id,
                opts=child,
            )
            for index, table_id in enumerate(args.route_table_ids)
            for network in args.networks
        ]
        self.ready = [self.attachment, *self.routes]
        self.register_outputs({"attachmentId": self.attachment.id})


def _label(network: IPv4Network) -> str:
    """``10.200.0.0/24`` → ``10-200-0-0-24``: a stable, readable part of a resource name."""
    return str(network).replace(".", "-").replace("/", "-")
