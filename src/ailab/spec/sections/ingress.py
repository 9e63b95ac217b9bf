"""The ``ingress`` section: MLflow and Qdrant over TLS for auditors' machines on the VPN."""

from __future__ import annotations

from pydantic import Field

from ailab.spec.sections.common import StrictModel
from ailab.spec.types import DnsLabel


class IngressSpec(StrictModel):
    """How auditors' machines reach MLflow and Qdrant: an internal ingress with TLS (over the VPN)."""

    class_name: str = Field(default="nginx", min_length=1, description="IngressClass of the internal ingress controller.")
    tls_secret_name: DnsLabel = Field(description="Secret (in each service namespace) holding the TLS certificate.")
    mlflow_host: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="Host name of MLflow behind the ingress.")
    qdrant_host: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", description="Host name of Qdrant behind the ingress.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Extra ingress annotations, e.g. to keep the load balancer internal."
    )
    controller_namespace: DnsLabel = Field(
        default="ingress-nginx",
        description="Namespace of the ingress controller's pods: the only namespace, besides sandboxes, that may reach MLflow and Qdrant.",
    )
