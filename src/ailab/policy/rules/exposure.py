"""No public exposure: EKS API endpoint, RDS, S3 public access, security groups open to the
internet, public IPs on nodes, and Kubernetes Services and Ingresses reachable from outside."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ailab.policy.model import MISSING, Record, RecordSet, RuleContext, Violation, resource_rule, stack_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.linking import Linker, bucket_linker
from ailab.policy.rules.helpers.tokens import (
    AUTOSCALING_GROUP,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    EC2_SUBNET,
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    INGRESS,
    RDS_INSTANCE,
    S3_ACCOUNT_PUBLIC_ACCESS_BLOCK,
    S3_BUCKETS,
    S3_PUBLIC_ACCESS_BLOCK,
    SERVICE,
)
from ailab.policy.rules.helpers.values import annotation_path, as_bool, ev, hides, is_unknown, known_and_not, mapping, strings

_EXPOSURE = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.AI_ACT_CONFIDENTIALITY]
# Data stores and services reachable by anyone: personal data made accessible to an indefinite number of persons.
_PUBLIC = [c.EUDPR_BY_DEFAULT, c.GDPR_BY_DEFAULT, *_EXPOSURE]


@resource_rule(
    id="AILAB-AWS-030",
    title="The EKS API endpoint is private",
    severity="high",
    rationale=(
        "A public Kubernetes API endpoint lets anyone on the internet probe authentication and exploit API server "
        "flaws; the lab's architects reach it over the VPN or a bastion."
    ),
    remediation=(
        "Set vpc_config endpoint_private_access=True and endpoint_public_access=False on aws.eks.Cluster; "
        "declare how the deployer reaches it (lab.aws.api_access: a Transit Gateway and its routed networks). "
        "A public endpoint restricted to listed networks (api_access.kind: public) is a choice to waive here, "
        "with its justification."
    ),
    types=[EKS_CLUSTER],
    controls=[*_EXPOSURE, c.ISO_NETWORKS, c.CIS_EKS_ENDPOINT_RESTRICT, c.CIS_EKS_PRIVATE_ENDPOINT, c.NSA_CONTROL_PLANE],
)
def eks_private_endpoint(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    config = record.properties.get("vpcConfig", MISSING)
    if is_unknown(config):
        return
    public = mapping(config).get("endpointPublicAccess", MISSING)
    if known_and_not(public, False):  # absent means public (the EKS default)
        yield Violation(f"EKS cluster {record.name} has a public API endpoint", (ev("vpcConfig.endpointPublicAccess", public),))
    private = mapping(config).get("endpointPrivateAccess", MISSING)
    if known_and_not(private, True):
        yield Violation(
            f"EKS cluster {record.name} has no private API endpoint", (ev("vpcConfig.endpointPrivateAccess", private),)
        )


@resource_rule(
    id="AILAB-AWS-031",
    title="RDS databases are not publicly accessible",
    severity="critical",
    rationale="A publicly accessible database gets a public DNS name and address; MLflow's store must only be reachable from the cluster.",
    remediation="Set publicly_accessible=False (the default) and place the database in private subnets.",
    types=[RDS_INSTANCE, "aws:rds/clusterInstance:ClusterInstance"],
    controls=[*_PUBLIC, c.ISO_NETWORKS],
)
def rds_not_public(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    value = record.properties.get("publiclyAccessible", MISSING)
    if as_bool(value) is True:
        yield Violation(f"Database {record.name} is publicly accessible", (ev("publiclyAccessible", value),))


_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _open_flags(block: Record) -> list[tuple[str, Any]]:
    """The public-access-block flags that are not true (absent means false); placeholders are not judged."""
    found = []
    for flag in _BLOCK_FLAGS:
        value = block.properties.get(flag, MISSING)
        if known_and_not(value, True):
            found.append((flag, value))
    return found


@stack_rule(
    id="AILAB-AWS-032",
    title="S3 buckets block every form of public access",
    severity="critical",
    rationale=(
        "A single public ACL or bucket policy would publish audit artifacts to the internet; the four public access "
        "block flags make such grants ineffective whatever else is configured."
    ),
    remediation=(
        "Add an aws.s3.BucketPublicAccessBlock for each bucket (or one aws.s3.AccountPublicAccessBlock) with "
        "block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all True."
    ),
    types=[*S3_BUCKETS, S3_PUBLIC_ACCESS_BLOCK, S3_ACCOUNT_PUBLIC_ACCESS_BLOCK],
    controls=[*_PUBLIC, c.ISO_ACCESS_RESTRICTION, c.ISO_CLOUD],
)
def s3_public_access_block(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    # An account-wide block with all four flags covers every bucket of the account.
    if any(not _open_flags(block) for block in records.of_type(S3_ACCOUNT_PUBLIC_ACCESS_BLOCK)):
        return
    blocks = bucket_linker(records).covered(records.of_type(S3_PUBLIC_ACCESS_BLOCK), "bucket")
    for bucket in records.of_type(*S3_BUCKETS):
        attached = blocks.get(bucket.urn, [])
        if not attached:
            yield Violation(f"Bucket {bucket.name} has no public access block", (ev("publicAccessBlock", MISSING),), bucket)
            continue
        if all(_open_flags(block) for block in attached):
            block = attached[0]
            evidence = tuple(ev(flag, value) for flag, value in _open_flags(block))
            yield Violation(f"The public access block of bucket {bucket.name} leaves public access possible", evidence, block)


_WORLD = ("0.0.0.0/0", "::/0")


def _world_ingress(record: Record) -> Iterator[tuple[str, str]]:
    """``(path, cidr)`` of every ingress permission of a security group (or rule) open to the whole internet."""
    props = record.properties
    if record.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        for key in ("cidrIpv4", "cidrIpv6"):
            if props.get(key) in _WORLD:
                yield key, props[key]
        return
    if record.type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if props.get("type") != "ingress":
            return
        rules: list[tuple[str, Any]] = [("", props)]
    else:
        ingress = props.get("ingress")
        rules = [(f"ingress[{i}].", rule) for i, rule in enumerate(ingress if isinstance(ingress, list) else ())]
    for prefix, rule in rules:
        for key in ("cidrBlocks", "ipv6CidrBlocks"):
            for index, cidr in enumerate(strings(mapping(rule).get(key))):
                if cidr in _WORLD:
                    yield f"{prefix}{key}[{index}]", cidr


@resource_rule(
    id="AILAB-NET-001",
    title="Security groups admit no traffic from the whole internet",
    severity="high",
    rationale=(
        "An ingress rule from 0.0.0.0/0 or ::/0 exposes nodes, databases or endpoints to every host on the "
        "internet; the lab is reached only through the VPN and internal load balancers."
    ),
    remediation="Replace 0.0.0.0/0 and ::/0 with the VPC CIDR, the VPN or bastion networks, or a source security group.",
    types=[
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    ],
    controls=[*_EXPOSURE, c.ISO_NETWORKS, c.NSA_CLOUD_INFRA],
)
def security_group_world_ingress(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for path, cidr in _world_ingress(record):
        yield Violation(f"{record.name} admits traffic from {cidr}", (ev(path, cidr),))


@stack_rule(
    id="AILAB-NET-002",
    title="Nodes get no public IP addresses",
    severity="high",
    rationale=(
        "A node with a public address is reachable from the internet wherever a security group slips; GPU nodes "
        "run the code under evaluation and must stay in private subnets behind NAT."
    ),
    remediation=(
        "Put node groups, instances and auto scaling groups in private subnets (map_public_ip_on_launch=False) and "
        "set associate_public_ip_address=False on launch templates and instances."
    ),
    types=[EC2_SUBNET, EKS_NODE_GROUP, EC2_INSTANCE, EC2_LAUNCH_TEMPLATE, AUTOSCALING_GROUP],
    controls=[c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_NETWORKS, c.ISO_SEGREGATION, c.CIS_EKS_PRIVATE_NODES],
)
def no_public_node_ips(records: RecordSet, ctx: RuleContext) -> Iterator[Violation]:
    public = [s for s in records.of_type(EC2_SUBNET) if as_bool(s.properties.get("mapPublicIpOnLaunch")) is True]
    # Subnet IDs are provider outputs, so the link from a node group to its subnets is its dependencies.
    linker = Linker(public, ())
    for consumer in records.of_type(EKS_NODE_GROUP, EC2_INSTANCE, AUTOSCALING_GROUP, EC2_LAUNCH_TEMPLATE):
        for subnet in linker.targets(consumer, "subnetId"):
            yield Violation(
                f"{consumer.name} runs nodes in subnet {subnet.name}, which gives every instance a public IP",
                (ev("mapPublicIpOnLaunch", subnet.properties.get("mapPublicIpOnLaunch")),),
                subnet,
            )
    for record in records.of_type(EC2_INSTANCE, EC2_LAUNCH_TEMPLATE):
        candidates = [("associatePublicIpAddress", record.properties.get("associatePublicIpAddress"))]
        interfaces = record.properties.get("networkInterfaces")
        for i, interface in enumerate(interfaces if isinstance(interfaces, list) else ()):
            candidates.append(
                (f"networkInterfaces[{i}].associatePublicIpAddress", mapping(interface).get("associatePublicIpAddress"))
            )
        for path, value in candidates:
            if as_bool(value) is True:
                yield Violation(f"{record.name} gives its instances a public IP", (ev(path, value),), record)


# Annotations that make a cloud load balancer internal, and the values that mean so.
_INTERNAL_ANNOTATIONS: dict[str, tuple[str, ...]] = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    # The in-tree AWS annotation historically took "0.0.0.0/0" to mean internal as well.
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/openstack-internal-load-balancer": ("true",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
}


@resource_rule(
    id="AILAB-NET-003",
    title="LoadBalancer Services are internal",
    severity="high",
    rationale=(
        "A Service of type LoadBalancer gets an internet-facing load balancer unless annotated otherwise, "
        "publishing MLflow, Qdrant or a sandbox workload to the internet."
    ),
    remediation=(
        "Annotate the Service with service.beta.kubernetes.io/aws-load-balancer-scheme: internal (AWS Load Balancer "
        "Controller) or the provider's internal annotation; on premises, waive it with the address pool's justification."
    ),
    types=[SERVICE],
    controls=[*_PUBLIC, c.ISO_NETWORKS, c.NSA_CLOUD_INFRA],
)
def internal_load_balancers(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    kind = record.get("spec.type")
    if kind != "LoadBalancer":
        return
    annotations = record.annotations
    for key, internal_values in _INTERNAL_ANNOTATIONS.items():
        value = annotations.get(key)
        if is_unknown(value) or (isinstance(value, str) and value.lower() in internal_values):
            return
    present = [key for key in _INTERNAL_ANNOTATIONS if key in annotations]
    evidence = [ev("spec.type", kind)] + [ev(annotation_path(key), annotations[key]) for key in present]
    if not present:
        evidence.append(ev(annotation_path("service.beta.kubernetes.io/aws-load-balancer-scheme"), MISSING))
    yield Violation(f"Service {record.name} asks for a load balancer that is not internal", tuple(evidence))


@resource_rule(
    id="AILAB-NET-004",
    title="No NodePort Services",
    severity="medium",
    rationale="A NodePort opens the same port on every node, bypassing ingress TLS and reaching whatever can route to a node.",
    remediation="Use a ClusterIP Service behind the internal ingress (or kubectl port-forward for administration).",
    types=[SERVICE],
    controls=[c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_NETWORKS],
)
def no_node_ports(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    if record.get("spec.type") == "NodePort":
        yield Violation(f"Service {record.name} is a NodePort", (ev("spec.type", "NodePort"),))


def _host_covered(host: str, tls_hosts: list[str]) -> bool:
    for pattern in tls_hosts:
        if pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:]) and "." not in host[: -len(pattern) + 1]):
            return True
    return False


@resource_rule(
    id="AILAB-NET-005",
    title="Ingresses serve only TLS",
    severity="high",
    rationale=(
        "Auditors reach MLflow and Qdrant with passwords and API keys in every request; an Ingress without TLS, or "
        "with HTTPS redirection turned off, sends them in clear text."
    ),
    # Controller-neutral: the check also reads ingress-nginx's ssl-redirect annotation (foreign manifests
    # still carry it), but the lab runs Traefik and ingress-nginx is retired, so the fix names Traefik's way.
    remediation=(
        "List every rule host under spec.tls[].hosts with a certificate secret (lab.ingress.tls_secret_name), route the "
        "Ingress through the controller's HTTPS entry point only and never turn its HTTPS redirection off. With Traefik: "
        'annotate traefik.ingress.kubernetes.io/router.entrypoints: websecure and router.tls: "true" (as the lab\'s '
        "Ingresses are), and expose no plain-HTTP entry point."
    ),
    types=[INGRESS],
    controls=[
        c.EUDPR_ENCRYPTION,
        c.GDPR_ENCRYPTION,
        c.AI_ACT_CONFIDENTIALITY,
        c.ISO_CRYPTOGRAPHY,
        c.CIS_EKS_TLS_LB,
        c.NSA_ENCRYPTION,
    ],
)
def ingress_tls(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    tls = record.get("spec.tls")
    if is_unknown(tls):
        return
    if not isinstance(tls, list) or not tls:
        yield Violation(f"Ingress {record.name} has no TLS section", (ev("spec.tls", tls),))
    else:
        entries = [mapping(entry) for entry in tls]
        tls_hosts = [host for entry in entries for host in strings(entry.get("hosts"))]
        # An entry without hosts serves its certificate for every host; a hidden host may be any of them.
        if all("hosts" in entry for entry in entries) and not hides(tls_hosts):
            rules = record.get("spec.rules")
            for index, rule in enumerate(rules if isinstance(rules, list) else ()):
                host = mapping(rule).get("host")
                if isinstance(host, str) and not is_unknown(host) and not _host_covered(host, tls_hosts):
                    yield Violation(f"Ingress {record.name} serves {host} without TLS", (ev(f"spec.rules[{index}].host", host),))
    redirect_key = "nginx.ingress.kubernetes.io/ssl-redirect"
    redirect = record.annotations.get(redirect_key)
    if isinstance(redirect, str) and as_bool(redirect) is False:
        yield Violation(f"Ingress {record.name} turns HTTPS redirection off", (ev(annotation_path(redirect_key), redirect),))
    yield from _traefik_plain_http(record)


_TRAEFIK_ENTRYPOINTS = "traefik.ingress.kubernetes.io/router.entrypoints"
_TRAEFIK_TLS = "traefik.ingress.kubernetes.io/router.tls"
_TRAEFIK_PLAIN_ENTRYPOINT = "web"


def _traefik_plain_http(record: Record) -> Iterator[Violation]:
    """Traefik's router for an Ingress serves TLS only with ``router.tls: "true"`` (spec.tls alone just loads the
    certificate): a router bound to the chart's plain-HTTP entry point ``web`` without it answers in clear text."""
    entrypoints = record.annotations.get(_TRAEFIK_ENTRYPOINTS)
    if not isinstance(entrypoints, str) or is_unknown(entrypoints):
        return
    names = [name.strip() for name in entrypoints.split(",")]
    tls = record.annotations.get(_TRAEFIK_TLS)
    if is_unknown(tls):
        return
    if _TRAEFIK_PLAIN_ENTRYPOINT in names and not (isinstance(tls, str) and as_bool(tls) is True):
        yield Violation(
            f"Ingress {record.name} is served by Traefik on its plain-HTTP entry point web without router.tls",
            (
                ev(annotation_path(_TRAEFIK_ENTRYPOINTS), entrypoints),
                ev(annotation_path(_TRAEFIK_TLS), tls if tls is not None else MISSING),
            ),
        )
