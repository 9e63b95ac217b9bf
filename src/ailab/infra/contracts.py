"""What the AWS layer hands the platform layer. Kept apart so neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import pulumi

MLFLOW_SERVICE_ACCOUNT = "mlflow"
"""The ServiceAccount MLflow's pods run as: the platform layer creates it, the AWS layer's IRSA role trusts exactly it."""

DATABASE_CA_FILE = "/etc/ailab/database-ca/ca.pem"
"""Where MLflow's pods find the CAs of an external database: the platform layer mounts them there, the AWS
layer's backend store URI names it (libpq's ``sslrootcert``)."""

_TEN = IPv4Network("10.0.0.0/8")
_SERVICE_NETWORK_BESIDE_TEN = IPv4Network("172.20.0.0/16")
_SERVICE_NETWORK_ELSEWHERE = IPv4Network("10.100.0.0/16")


@dataclass(frozen=True)
class ExternalMlflowStorage:
    """MLflow's stores when the cloud provides them (AWS: RDS PostgreSQL and an S3 bucket).

    On-premises there is none: the platform layer runs PostgreSQL and a volume in the cluster.
    """

    backend_store_uri: pulumi.Output[str]
    """``postgresql://...`` with the password: always a secret Output."""
    artifacts_destination: pulumi.Input[str]
    """``s3://bucket/artifacts``."""
    service_account_annotations: Mapping[str, pulumi.Input[str]]
    """Annotations for MLflow's ServiceAccount, e.g. the IRSA role ARN."""
    s3_endpoint_url: pulumi.Input[str] | None = None
    """Where MLflow's S3 client sends requests (``MLFLOW_S3_ENDPOINT_URL``): the VPC's S3 interface endpoint."""
    database_ca_bundle: str | None = None
    """PEM of the CAs that sign the database's certificate, mounted at :data:`DATABASE_CA_FILE` (AWS: RDS's bundle)."""


def eks_service_network(vpc_cidr: IPv4Network) -> IPv4Network:
    """The Service (ClusterIP) network of the lab's EKS cluster: the one EKS would choose itself.

    EKS takes 172.20.0.0/16 for a VPC in 10.0.0.0/8 and 10.100.0.0/16 otherwise, so neither
    overlaps the VPC. The AWS layer names it on the cluster anyway, so that the platform layer
    knows the API server's ClusterIP (:func:`kubernetes_service_ip`) when it writes the network
    policies, before the cluster exists. Being EKS's own choice, it is no change for a cluster
    created before it was named (a different network would replace the cluster).
    """
    return _SERVICE_NETWORK_BESIDE_TEN if vpc_cidr.subnet_of(_TEN) else _SERVICE_NETWORK_ELSEWHERE


def kubernetes_service_ip(service_network: IPv4Network) -> IPv4Address:
    """The ClusterIP of the ``default/kubernetes`` Service: Kubernetes gives it the network's first address."""
    return service_network.network_address + 1
