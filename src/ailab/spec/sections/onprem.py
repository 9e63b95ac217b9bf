"""The ``onprem`` section: how to reach an existing on-premises cluster."""

from __future__ import annotations

from ipaddress import IPv4Network

from pydantic import Field, field_validator

from ailab.spec.sections.common import RFC1918_NETWORKS, StrictModel, check_narrow
from ailab.spec.types import DnsLabel


class OnPremSettings(StrictModel):
    """How to reach an existing on-premises cluster."""

    kubeconfig_context: str = Field(min_length=1, description="Context name in the architect's kubeconfig.")
    storage_class: DnsLabel = Field(
        default="local-path", description="StorageClass for PostgreSQL, artifacts and Qdrant volumes."
    )
    api_server_cidrs: list[IPv4Network] = Field(
        default_factory=lambda: list(RFC1918_NETWORKS),
        validate_default=True,
        min_length=1,
        description=(
            "Where the GPU operator may connect to reach the Kubernetes API server (ports 443 and 6443): the control-plane "
            "nodes' addresses, plus the kubernetes Service's ClusterIP for CNIs that enforce policy before Service "
            "translation. The default, every RFC 1918 network, works anywhere but is wide: narrow it to your cluster's."
        ),
    )

    @field_validator("api_server_cidrs")
    @classmethod
    def _narrow_enough(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        check_narrow(value, "is too wide for the API server; list the control-plane nodes' networks (a /8 or narrower)")
        return value
