"""Deployability (AILAB-DEP-*): what makes a real ``pulumi up`` fail although every mock passes.

These rules read the deployment order the plan, preview or state export records (each record's
``dependencies`` and ``provider``, see :mod:`~ailab.policy.rules.helpers.graph`) and the settings of
the resources, and fail where the first real deployment would: a Kubernetes object created before
any node or storage driver exists, a cluster created before its role may act, an API endpoint the
deployer cannot reach, a Kubernetes version EKS no longer supports, an Ingress no controller serves.
They apply to what the records show: an EKS cluster's rules find nothing in a plan without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.graph import DeploymentOrder
from ailab.policy.rules.helpers.tokens import (
    CLIENT_VPN_ENDPOINT,
    DEPLOYMENT,
    EC2_ROUTE,
    EC2_SECURITY_GROUP,
    EC2_VPC,
    EKS_ADDON,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    HELM_CHART,
    HELM_RELEASE,
    IAM_ROLE,
    IAM_ROLE_POLICY,
    IAM_ROLE_POLICY_ATTACHMENT,
    INGRESS,
    INGRESS_CLASS,
    K3S_HELM_CHART_CONFIG,
    K8S_PROVIDER,
    STACK_REFERENCE,
    STATEFUL_SET,
    TGW_VPC_ATTACHMENT,
    VPC_PEERING,
    VPN_GATEWAY,
    VPN_GATEWAY_ROUTE_PROPAGATION,
)
from ailab.policy.rules.helpers.values import annotation_path, as_bool, dig, elements, ev, hides, is_unknown, mapping, strings
from ailab.spec.kubernetes_support import support_problem

_AVAILABILITY = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_CONTINUITY, c.ISO_CONFIGURATION]
EBS_CSI_ADDON = "aws-ebs-csi-driver"
WORLD = IPv4Network("0.0.0.0/0")


@stack_rule(
    id="AILAB-DEP-001",
    title="On EKS every Kubernetes object waits for a node group and the EBS CSI add-on",
    severity="high",
    rationale=(
        "pulumi-kubernetes waits up to ten minutes for a Deployment or StatefulSet to become ready; created before "
        "any node has joined, or before the EBS CSI driver can bind its volume, it times out and the first "
        "deployment fails half-done."
    ),
    remediation=(
        "Make the Kubernetes provider depend on the system node group and the aws-ebs-csi-driver add-on "
        "(pulumi.ResourceOptions(depends_on=[...]) on the provider; ailab's AwsLab.kubernetes_ready), or install "
        "the Kubernetes layer from a stack of its own that reads the cluster's stack through a StackReference "
        "(lab.aws.kubernetes_layer): that stack is deployed to the end first."
    ),
    types=[EKS_CLUSTER, EKS_NODE_GROUP, EKS_ADDON, DEPLOYMENT, STATEFUL_SET, HELM_RELEASE, STACK_REFERENCE],
    controls=[*_AVAILABILITY],
)
def kubernetes_after_nodes_and_storage(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    clusters = records.of_type(EKS_CLUSTER)
    if not clusters:
        return
    # The Kubernetes layer in a stack of its own (lab.aws.kubernetes_layer) reads the cluster's stack through a
    # StackReference: that stack was deployed to the end before, node groups and add-on included.
    cluster_stacks = {_stack_of(cluster.urn) for cluster in clusters}
    later_layers = {stack for stack, read in _stack_reads(records).items() if read & cluster_stacks}
    order = DeploymentOrder(records)
    node_groups = {record.urn for record in records.of_type(EKS_NODE_GROUP)}
    storage = {record.urn for record in records.of_type(EKS_ADDON) if record.properties.get("addonName") == EBS_CSI_ADDON}
    for record in records:
        if not (record.type.startswith("kubernetes:") or record.type == K8S_PROVIDER) or _stack_of(record.urn) in later_layers:
            continue
        before = order.waits_for(record)
        if not (before & node_groups and (not storage or before & storage)) and not order.fully_known(record):
            continue  # it may wait for them through a resource the input does not show
        if not before & node_groups:
            yield Violation(
                f"{record.type.rsplit(':', 1)[-1]} {record.name} is not ordered after any EKS node group",
                (ev("dependencies", sorted(before) or MISSING),),
                record,
            )
        elif storage and not before & storage:
            yield Violation(
                f"{record.type.rsplit(':', 1)[-1]} {record.name} is not ordered after the {EBS_CSI_ADDON} add-on",
                (ev("dependencies", sorted(before) or MISSING),),
                record,
            )


def _stack_of(urn: str) -> str:
    """``project/stack`` of a URN (``urn:pulumi:<stack>::<project>::...``); the URN itself when it is not one."""
    parts = urn.removeprefix("urn:pulumi:").split("::")
    return f"{parts[1]}/{parts[0]}" if urn.startswith("urn:pulumi:") and len(parts) > 2 else urn


def _stack_reads(records: RecordSet) -> dict[str, set[str]]:
    """``project/stack`` of each stack in the records -> those it reads through a StackReference (DIY or Cloud names)."""
    reads: dict[str, set[str]] = {}
    for reference in records.of_type(STACK_REFERENCE):
        name = reference.properties.get("name", MISSING)
        if isinstance(name, str) and not is_unknown(name):
            reads.setdefault(_stack_of(reference.urn), set()).add("/".join(name.split("/")[-2:]))
    return reads


@stack_rule(
    id="AILAB-DEP-002",
    title="An EKS cluster waits for its role's policies",
    severity="medium",
    rationale=(
        "EKS checks the cluster role's permissions (AmazonEKSClusterPolicy, the Secrets key) when it creates the "
        "cluster; created in parallel with the attachments, creation fails intermittently, and on destroy the "
        "policies are removed while the cluster still needs them."
    ),
    remediation=(
        "Give aws.eks.Cluster depends_on=[role, *its RolePolicyAttachments and RolePolicies], as AWS's own examples order it."
    ),
    types=[EKS_CLUSTER, IAM_ROLE, IAM_ROLE_POLICY_ATTACHMENT, IAM_ROLE_POLICY],
    controls=[*_AVAILABILITY],
)
def cluster_after_role_grants(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    clusters = records.of_type(EKS_CLUSTER)
    if not clusters:
        return
    order = DeploymentOrder(records)
    roles = {record.urn: record for record in records.of_type(IAM_ROLE)}
    grants = records.of_type(IAM_ROLE_POLICY_ATTACHMENT, IAM_ROLE_POLICY)
    for cluster in clusters:
        # The cluster's role is the one its roleArn input came from (a dependency in every input format).
        cluster_roles = [urn for urn in cluster.dependencies if urn in roles]
        before = order.waits_for(cluster)
        for grant in grants:
            if any(urn in grant.dependencies for urn in cluster_roles) and grant.urn not in before and order.fully_known(cluster):
                yield Violation(
                    f"EKS cluster {cluster.name} is not ordered after {grant.name}, a policy of its role",
                    (ev("dependencies", sorted(cluster.dependencies) or MISSING),),
                    cluster,
                )


@stack_rule(
    id="AILAB-DEP-003",
    title="The EKS API has a declared path from the deployer and no public endpoint open to the world",
    severity="high",
    rationale=(
        "A private-only endpoint is reachable from inside the VPC only: unless the networks admitted to it are "
        "routed there (Transit Gateway, VPN, peering) or a Client VPN puts people inside, every Kubernetes "
        "resource of the deployment fails. A public endpoint without a CIDR list is open to the whole internet "
        "(EKS's default 0.0.0.0/0)."
    ),
    remediation=(
        "Declare lab.aws.api_access: {kind: transit_gateway, transit_gateway_id, networks} (ailab attaches the "
        "VPC and adds a Route to each network in each private route table) or {kind: public, public_cidrs} "
        "(never 0.0.0.0/0), or install the Kubernetes layer from a stack of its own, run from inside the VPC "
        "(lab.aws.kubernetes_layer); see docs/deploy.md, 'The network path to the API'."
    ),
    types=[
        EKS_CLUSTER,
        EC2_SECURITY_GROUP,
        EC2_ROUTE,
        TGW_VPC_ATTACHMENT,
        VPN_GATEWAY,
        VPC_PEERING,
        CLIENT_VPN_ENDPOINT,
        K8S_PROVIDER,
    ],
    controls=[*_AVAILABILITY, c.ISO_NETWORKS, c.CIS_EKS_ENDPOINT_RESTRICT, c.NSA_CONTROL_PLANE],
)
def api_reachable(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    for cluster in records.of_type(EKS_CLUSTER):
        config = mapping(cluster.properties.get("vpcConfig", MISSING))
        if is_unknown(config):
            continue
        public = config.get("endpointPublicAccess", MISSING)
        if is_unknown(public):
            continue
        if as_bool(public) is not False:  # absent means public, EKS's default
            yield from _public_endpoint(cluster, config)
        else:
            yield from _private_path(cluster, records)


def _public_endpoint(cluster: Record, config: Any) -> Iterator[Violation]:
    cidrs = config.get("publicAccessCidrs", MISSING)
    if hides(cidrs):
        return
    listed = strings(cidrs)
    if not listed or any(_network(text) == WORLD for text in listed):
        yield Violation(
            f"EKS cluster {cluster.name} has a public endpoint open to 0.0.0.0/0",
            (ev("vpcConfig.publicAccessCidrs", cidrs),),
            cluster,
        )


def _private_path(cluster: Record, records: RecordSet) -> Iterator[Violation]:
    if records.of_type(CLIENT_VPN_ENDPOINT):
        return  # a Client VPN puts its users' traffic inside the VPC
    vpcs = [_network(value) for value in (vpc.properties.get("cidrBlock", MISSING) for vpc in records.of_type(EC2_VPC))]
    admitted = _admitted_on_443(cluster, records)
    if admitted is None or any(vpc is None for vpc in vpcs):
        return  # a hidden rule or network: nothing can be concluded
    outside = [network for network in admitted if not any(vpc is not None and network.subnet_of(vpc) for vpc in vpcs)]
    if not outside and not _kubernetes_in_stack(cluster, records):
        return  # nothing in the cluster's own stack talks to the API: its Kubernetes layer runs later, from inside the VPC
    if not outside:
        yield Violation(
            f"EKS cluster {cluster.name} has a private-only endpoint and admits no network outside the VPC: "
            "nothing can reach it while the VPC is being created",
            (ev("vpcConfig.endpointPublicAccess", False), ev("vpcConfig.securityGroupIds", "no network outside the VPC")),
            cluster,
        )
        return
    routed = _routed_networks(records)
    if routed is None:
        return
    for network in outside:
        if not any(network.subnet_of(destination) for destination in routed):
            yield Violation(
                f"EKS cluster {cluster.name} admits {network} to its private endpoint, but no Transit Gateway, VPN or "
                "peering route leads there",
                (ev("vpcConfig.endpointPublicAccess", False), ev("routes", str(network))),
                cluster,
            )


def _kubernetes_in_stack(cluster: Record, records: RecordSet) -> bool:
    stack = _stack_of(cluster.urn)
    return any(_stack_of(record.urn) == stack for record in records.of_type(K8S_PROVIDER))


def _admitted_on_443(cluster: Record, records: RecordSet) -> list[IPv4Network] | None:
    """The networks the security groups the cluster uses admit on 443; None when one of them is hidden or not
    among the records (a group made outside the stack may admit anything)."""
    groups = [record for record in records.of_type(EC2_SECURITY_GROUP) if record.urn in cluster.dependencies]
    listed = dig(cluster.properties, "vpcConfig", "securityGroupIds")
    if hides(listed) or len(strings(listed)) > len(groups):
        return None
    found: list[IPv4Network] = []
    for group in groups:
        rules = group.properties.get("ingress", MISSING)
        if hides(rules):
            return None
        for rule in elements(rules):
            rule = mapping(rule)
            ports = [rule.get("protocol"), rule.get("fromPort"), rule.get("toPort")]
            blocks = rule.get("cidrBlocks", MISSING)
            if any(is_unknown(value) for value in ports) or hides(blocks):
                return None
            if rule.get("protocol") in ("-1", "all") or (_int(rule.get("fromPort")) <= 443 <= _int(rule.get("toPort"))):
                found.extend(network for network in map(_network, strings(blocks)) if network is not None)
    return found


def _routed_networks(records: RecordSet) -> list[IPv4Network] | None:
    """Destinations of routes through a Transit Gateway attachment, a VPN gateway or a peering connection in the
    records; every network when a VPN gateway propagates its routes; None when a route is hidden."""
    if records.of_type(VPN_GATEWAY) and records.of_type(VPN_GATEWAY_ROUTE_PROPAGATION):
        return [WORLD]
    attached = bool(records.of_type(TGW_VPC_ATTACHMENT))
    gateways = {record.urn for record in records.of_type(VPN_GATEWAY)}
    found: list[IPv4Network] = []
    for route in records.of_type(EC2_ROUTE):
        properties = route.properties
        via_tgw = attached and _set(properties.get("transitGatewayId", MISSING))
        via_peering = _set(properties.get("vpcPeeringConnectionId", MISSING))
        via_vgw = bool(gateways & set(route.dependencies)) and _set(properties.get("gatewayId", MISSING))
        if not (via_tgw or via_peering or via_vgw):
            continue
        destination = properties.get("destinationCidrBlock", MISSING)
        if is_unknown(destination):
            return None
        network = _network(destination)
        if network is not None:
            found.append(network)
    return found


def _set(value: Any) -> bool:
    """A reference that is given: a hidden one counts (it is there, only its value is not shown)."""
    return is_unknown(value) or (isinstance(value, str) and bool(value))


def _network(value: Any) -> IPv4Network | None:
    try:
        return IPv4Network(value, strict=False) if isinstance(value, str) else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


@stack_rule(
    id="AILAB-DEP-004",
    title="EKS runs a Kubernetes version in standard support",
    severity="high",
    rationale=(
        "A version out of EKS standard support gets no fixes, is billed at the extended-support rate, and is "
        "upgraded by force when that ends; with the upgrade policy STANDARD, EKS refuses to keep it at all."
    ),
    remediation=(
        "Set lab.cluster.kubernetes_version to a version in standard support (ailab.spec.kubernetes_support lists "
        "the calendar) and upgrade the cluster one minor version at a time (docs/deploy.md, 'Upgrading Kubernetes')."
    ),
    types=[EKS_CLUSTER, EKS_NODE_GROUP],
    controls=[c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_VULNERABILITIES, c.ISO_CONFIGURATION],
)
def kubernetes_in_support(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    for record in records.of_type(EKS_CLUSTER, EKS_NODE_GROUP):
        version = record.properties.get("version", MISSING)
        if not isinstance(version, str) or is_unknown(version):
            continue  # absent: EKS's default, the newest version, or the cluster's for a node group
        minor = ".".join(version.split(".")[:2])
        try:
            problem = support_problem(minor, "eks")
        except ValueError:
            problem = f"{version!r} is not a Kubernetes minor version such as 1.35"
        if problem is not None:
            yield Violation(f"{record.name}: Kubernetes {problem}", (ev("version", version),), record)


_KNOWN_CONTROLLERS: dict[str, tuple[str, ...]] = {
    "traefik": ("ingressClass", "name"),
    "kubernetes-ingress": ("controller", "ingressClass"),  # HAProxy Technologies' controller
    "haproxy-ingress": ("controller", "ingressClass"),
    "kong": ("ingressController", "ingressClass"),
    "contour": ("contour", "ingressClass", "name"),
}
"""Maintained ingress controllers by chart name, and where their values name the IngressClass they serve.
ingress-nginx is not among them: its community project was retired in March 2026."""
DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS = "kubernetes.io/ingress.class"


@stack_rule(
    id="AILAB-DEP-005",
    title="Every Ingress has a controller in the deployment",
    severity="high",
    rationale=(
        "pulumi-kubernetes waits for an Ingress to get an address from its controller; with no controller of its "
        "class, the deployment times out after ten minutes and the service stays unreachable."
    ),
    remediation=(
        "Install a maintained controller in the same deployment (an IngressClass of the Ingress's "
        "ingressClassName, or a Helm release of Traefik, HAProxy, Kong or Contour serving it) and name its "
        "class in the Ingress; ingress-nginx is retired."
    ),
    types=[INGRESS, INGRESS_CLASS, HELM_RELEASE, HELM_CHART],
    controls=[*_AVAILABILITY, c.ISO_NETWORK_SERVICES],
)
def ingress_has_controller(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    ingresses = records.of_type(INGRESS)
    if not ingresses:
        return
    served = _served_classes(records)
    if served is None:
        return  # a class or controller whose name is hidden may serve any Ingress
    classes, has_default = served
    for ingress in ingresses:
        name = dig(ingress.properties, "spec", "ingressClassName")
        path = "spec.ingressClassName"
        if name is MISSING:
            name, path = ingress.annotations.get(LEGACY_CLASS, MISSING), annotation_path(LEGACY_CLASS)
        if is_unknown(name) or is_unknown(ingress.annotations):
            continue
        if name is MISSING or name is None:
            if not has_default:
                yield Violation(
                    f"Ingress {ingress.name} names no class and no default IngressClass is deployed",
                    (ev("spec.ingressClassName", MISSING),),
                    ingress,
                )
        elif name not in classes:
            yield Violation(
                f"Ingress {ingress.name} has class {name!r}, which no IngressClass or controller in the deployment serves",
                (ev(path, name),),
                ingress,
            )


def _served_classes(records: RecordSet) -> tuple[set[str], bool] | None:
    """IngressClass names served in the records and whether one is the default; None when one is hidden."""
    classes: set[str] = set()
    has_default = False
    for record in records.of_type(INGRESS_CLASS):
        name = dig(record.properties, "metadata", "name")
        default = record.annotations.get(DEFAULT_CLASS, MISSING)
        if is_unknown(name) or is_unknown(default):
            return None
        classes.add(name if isinstance(name, str) else record.name)
        has_default = has_default or as_bool(default) is True
    for release in records.of_type(HELM_RELEASE, HELM_CHART):
        chart = release.properties.get("chart", MISSING)
        if is_unknown(chart):
            return None
        where = _KNOWN_CONTROLLERS.get(chart.rstrip("/").rsplit("/", 1)[-1] if isinstance(chart, str) else "")
        if where is None:
            continue
        named = dig(release.properties, "values", *where)
        if is_unknown(named):
            return None
        chart_name = chart.rstrip("/").rsplit("/", 1)[-1]
        release_name = release.properties.get("name", release.name)
        release_name = release_name if isinstance(release_name, str) else release.name
        # Unnamed, the charts name the class after the chart or the release's full name.
        classes |= {named} if isinstance(named, str) and named else {chart_name, release_name, f"{release_name}-{chart_name}"}
    for config in records.of_type(K3S_HELM_CHART_CONFIG):
        if dig(config.properties, "metadata", "name") == "traefik":
            classes.add("traefik")  # k3s's bundled Traefik serves the class "traefik"
    return classes, has_default
