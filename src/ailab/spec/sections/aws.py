"""The ``aws`` section: account-level settings of an AWS lab (region, network, the path to the API)."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ailab.spec.constants import ZONE_COUNT
from ailab.spec.regions import EU_REGIONS, is_eu_region
from ailab.spec.sections.common import RFC1918_NETWORKS, LocatedValueError, StrictModel


class RegionOverride(StrictModel):
    """The only way to deploy outside the EU: a written justification and who approved it."""

    justification: str = Field(min_length=40, description="Why a non-EU region is lawful and necessary (at least 40 characters).")
    approved_by: str = Field(min_length=3, description="Who approved the transfer (e.g. the DPO).")


def _no_world(networks: list[IPv4Network]) -> list[IPv4Network]:
    for network in networks:
        if network.prefixlen == 0:
            raise ValueError(f"{network} would open the cluster API to the internet; list your VPN, bastion or office networks")
    return networks


class TransitGatewayAccess(StrictModel):
    """The deployer reaches the private API endpoint over the institution's Transit Gateway (VPN, Direct Connect)."""

    kind: Literal["transit_gateway"] = Field(
        description="transit_gateway: the VPC is attached to a Transit Gateway; the endpoint stays private only."
    )
    transit_gateway_id: str = Field(
        pattern=r"^tgw-[0-9a-f]{8}([0-9a-f]{9})?$",
        description=(
            "The Transit Gateway (tgw-...) the lab attaches its private subnets to. Shared from another account "
            "(AWS RAM) with auto-accept off, the attachment must be accepted there before the Kubernetes layer "
            "can be reached: see docs/deploy.md, 'The network path to the API'."
        ),
    )
    networks: list[IPv4Network] = Field(
        min_length=1,
        description=(
            "The institution's networks (VPN, bastion, CI runners) behind the Transit Gateway: each gets a route "
            "through it in every private route table and is admitted by the API security group on 443."
        ),
    )

    @field_validator("networks")
    @classmethod
    def _networks(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        return _no_world(value)


class PublicEndpointAccess(StrictModel):
    """The deployer reaches EKS's public endpoint from listed networks; private access stays on for nodes and the VPC."""

    kind: Literal["public"] = Field(
        description="public: EKS's public endpoint is turned on, restricted to public_cidrs (a choice policy reports)."
    )
    public_cidrs: list[IPv4Network] = Field(
        min_length=1,
        description="Public networks (the institution's egress addresses, CI runners) allowed to the public endpoint; never 0.0.0.0/0.",
    )

    @field_validator("public_cidrs")
    @classmethod
    def _cidrs(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        for network in _no_world(value):
            if any(network.subnet_of(IPv4Network(private)) for private in RFC1918_NETWORKS):
                raise ValueError(
                    f"{network} is a private (RFC 1918) network: the public endpoint sees public source addresses only"
                )
        return value


ApiAccess = Annotated[TransitGatewayAccess | PublicEndpointAccess, Field(discriminator="kind")]

STACK_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"


class KubernetesLayer(StrictModel):
    """The Kubernetes layer in a stack of its own, reading the infrastructure stack's outputs through a StackReference.

    Both stacks' files hold this same spec; the stack being run says which layer it builds.
    """

    infrastructure_stack: str = Field(
        pattern=STACK_NAME_PATTERN,
        description=(
            "The stack that builds the AWS layer (VPC, EKS, node groups, RDS, S3, IAM) and exports what the "
            "Kubernetes layer needs; usually the stack this file belongs to, e.g. aws-eu."
        ),
    )
    kubernetes_stack: str = Field(
        pattern=STACK_NAME_PATTERN,
        description=(
            "The stack of the same project that installs the platform (MLflow, Qdrant, GPU operator, policies) "
            "from a machine that reaches the private API, e.g. aws-eu-k8s; see docs/deploy.md, 'Choice 3: the Kubernetes layer in a stack of its own'."
        ),
    )

    @model_validator(mode="after")
    def _two_stacks(self) -> KubernetesLayer:
        if self.infrastructure_stack == self.kubernetes_stack:
            raise LocatedValueError(
                ("kubernetes_stack",),
                f"{self.kubernetes_stack!r} is also the infrastructure stack; name a second stack, e.g. {self.infrastructure_stack}-k8s",
            )
        return self


class AwsSettings(StrictModel):
    """AWS account-level settings of an ``aws`` lab."""

    region: str = Field(description="AWS region; must be one of the EU regions unless region_override is given.")
    region_override: RegionOverride | None = Field(
        default=None, description="Only to deploy outside the EU: a justification and an approver. Policy checks still report it."
    )
    vpc_cidr: IPv4Network = Field(
        default=IPv4Network("10.40.0.0/16"),
        description="Private (RFC 1918) /16 to /20 network of the VPC; split into public (NAT only) and private subnets.",
    )
    availability_zones: list[str] | None = Field(
        default=None, description="Exactly three zones; when omitted the first three available zones of the region are used."
    )
    kms_deletion_window_days: int = Field(
        default=30, ge=7, le=30, description="Days a scheduled KMS key deletion can still be cancelled (7 to 30)."
    )
    log_retention_days: Literal[30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] = Field(
        default=365, description="CloudWatch retention of EKS control-plane and VPC flow logs (a value CloudWatch accepts)."
    )
    api_access: ApiAccess | None = Field(
        default=None,
        description=(
            "How the deployer (pulumi up, which also installs the Kubernetes layer) reaches the EKS API: "
            "{kind: transit_gateway, transit_gateway_id, networks} keeps the endpoint private and routes the "
            "institution's networks through its Transit Gateway; {kind: public, public_cidrs} opens the public "
            "endpoint to listed networks only. Required: a private endpoint nothing can reach fails every "
            "Kubernetes resource (docs/deploy.md, 'The network path to the API')."
        ),
    )
    kubernetes_layer: KubernetesLayer | None = Field(
        default=None,
        description=(
            "Omitted: one pulumi up builds the AWS layer and then the Kubernetes layer. "
            "{infrastructure_stack, kubernetes_stack}: two stacks of the project, run one after the other; the second "
            "reads the first's outputs through a StackReference and runs from a machine that reaches the API (a runner "
            "in the VPC, or behind api_access), so api_access may then be omitted."
        ),
    )
    deployer_role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$",
        description=(
            "IAM role that runs pulumi up (CI, or the role architects assume): it gets an explicit, visible cluster-admin "
            "access entry and EKS's implicit creator entry is turned off. Without it the creator entry stays (policy rule "
            "AILAB-RBAC-003 reports it). Decide before the cluster is created: adding or removing it later replaces the cluster."
        ),
    )

    sandbox_operator_principals: list[
        Annotated[str, Field(pattern=r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$")]
    ] = Field(
        default_factory=list,
        description=(
            "IAM roles or users that may assume the lab's sandbox-operator role (an EKS access entry with the "
            "sandbox-operator group, no access policy): sandbox operations without cluster-admin. Empty: no such role."
        ),
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError(f"{value} is too small or too large; use a /16 to /20 private network")
        if not value.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) network")
        return value

    @model_validator(mode="before")
    @classmethod
    def _moved_setting(cls, data: Any) -> Any:
        if isinstance(data, dict) and "api_allowed_cidrs" in data:
            raise LocatedValueError(
                ("api_allowed_cidrs",),
                "api_allowed_cidrs is replaced by api_access: write api_access: {kind: transit_gateway, "
                "transit_gateway_id: tgw-..., networks: [<these networks>]} (docs/deploy.md, 'The network path to the API')",
            )
        return data

    @property
    def api_networks(self) -> list[IPv4Network]:
        """Networks besides the VPC that reach the private endpoint on 443 (those behind the Transit Gateway)."""
        return list(self.api_access.networks) if isinstance(self.api_access, TransitGatewayAccess) else []

    @property
    def public_api_cidrs(self) -> list[IPv4Network]:
        """Networks allowed to the public endpoint; empty when the endpoint is private only."""
        return list(self.api_access.public_cidrs) if isinstance(self.api_access, PublicEndpointAccess) else []

    @model_validator(mode="after")
    def _eu_residency(self) -> AwsSettings:
        if not is_eu_region(self.region) and self.region_override is None:
            allowed = ", ".join(EU_REGIONS)
            raise LocatedValueError(
                ("region",),
                f"{self.region!r} is not in the EU; use one of {allowed} "
                "(or add region_override with a justification and approver)",
            )
        if self.api_access is None and self.kubernetes_layer is None:
            raise LocatedValueError(
                ("api_access",),
                "the private EKS endpoint has no declared path from the deployer: add api_access "
                "({kind: transit_gateway, transit_gateway_id: tgw-..., networks: [...]} or {kind: public, public_cidrs: [...]}), "
                "or run the Kubernetes layer in its own stack from inside the VPC (kubernetes_layer: "
                "{infrastructure_stack: ..., kubernetes_stack: ...}); see docs/deploy.md, 'The network path to the API'",
            )
        zones = self.availability_zones
        if zones is not None:
            if len(zones) != ZONE_COUNT or len(set(zones)) != ZONE_COUNT:
                raise LocatedValueError(("availability_zones",), f"give exactly {ZONE_COUNT} different zones")
            for index, zone in enumerate(zones):
                if not zone.startswith(self.region):
                    raise LocatedValueError(("availability_zones", index), f"{zone!r} is not a zone of {self.region}")
        return self
