"""The ``aws`` section: account-level settings of an AWS lab (region, network, endpoint access)."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ailab.spec.constants import ZONE_COUNT
from ailab.spec.regions import EU_REGIONS, is_eu_region
from ailab.spec.sections.common import LocatedValueError, StrictModel


class RegionOverride(StrictModel):
    """The only way to deploy outside the EU: a written justification and who approved it."""

    justification: str = Field(min_length=40, description="Why a non-EU region is lawful and necessary (at least 40 characters).")
    approved_by: str = Field(min_length=3, description="Who approved the transfer (e.g. the DPO).")


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
    api_allowed_cidrs: list[IPv4Network] = Field(
        default_factory=list,
        description="Networks (VPN, bastion) allowed to reach the private EKS API endpoint on 443, besides the VPC.",
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

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError(f"{value} is too small or too large; use a /16 to /20 private network")
        if not value.is_private:
            raise ValueError(f"{value} is not a private (RFC 1918) network")
        return value

    @field_validator("api_allowed_cidrs")
    @classmethod
    def _no_world(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        for network in value:
            if network.prefixlen == 0:
                raise ValueError("0.0.0.0/0 would open the cluster API to the internet; list your VPN or bastion networks")
        return value

    @model_validator(mode="after")
    def _eu_residency(self) -> AwsSettings:
        if not is_eu_region(self.region) and self.region_override is None:
            allowed = ", ".join(EU_REGIONS)
            raise LocatedValueError(
                ("region",),
                f"{self.region!r} is not in the EU; use one of {allowed} "
                "(or add region_override with a justification and approver)",
            )
        zones = self.availability_zones
        if zones is not None:
            if len(zones) != ZONE_COUNT or len(set(zones)) != ZONE_COUNT:
                raise LocatedValueError(("availability_zones",), f"give exactly {ZONE_COUNT} different zones")
            for index, zone in enumerate(zones):
                if not zone.startswith(self.region):
                    raise LocatedValueError(("availability_zones", index), f"{zone!r} is not a zone of {self.region}")
        return self
