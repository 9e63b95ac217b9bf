"""What the AWS layer hands the platform layer. Kept apart so neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

import pulumi

MLFLOW_SERVICE_ACCOUNT = "mlflow"
"""The ServiceAccount MLflow's pods run as: the platform layer creates it, the AWS layer's IRSA role trusts exactly it."""
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The ServiceAccount annotation that names the IRSA role: the AWS layer sets it, the platform's MLflow carries it."""

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


@dataclass(frozen=True)
class KubernetesLayerInputs:
    """What the Kubernetes layer takes from the AWS layer, when they are two stacks (``aws.kubernetes_layer``).

    The infrastructure stack exports it (:meth:`export`); the Kubernetes layer's stack reads it back through a
    ``StackReference`` (:meth:`from_reference`). The output names are written here only, so the two sides
    cannot drift; the kubeconfig and the database URI (it holds the password) stay secrets on both sides.
    """

    kubeconfig: pulumi.Input[str]
    """Authenticates with ``aws eks get-token`` as whoever runs the Kubernetes layer."""
    volume_key_arn: pulumi.Input[str]
    mlflow_storage: ExternalMlflowStorage
    lab_spec_digest: pulumi.Input[str]
    """The digest of the spec the infrastructure was built from (secrets left out): both stacks' files hold one spec."""

    def export(self) -> None:
        """Export every value as a stack output of the infrastructure stack."""
        storage = self.mlflow_storage
        values: dict[str, pulumi.Input[str] | None] = {
            _KUBECONFIG: pulumi.Output.secret(self.kubeconfig),
            _VOLUME_KEY: self.volume_key_arn,
            _BACKEND_STORE: pulumi.Output.secret(storage.backend_store_uri),
            _ARTIFACTS: storage.artifacts_destination,
            _MLFLOW_ROLE: storage.service_account_annotations[IRSA_ROLE_ANNOTATION],
            _S3_ENDPOINT: storage.s3_endpoint_url,
            _SPEC_DIGEST: self.lab_spec_digest,
        }
        for name, value in values.items():
            pulumi.export(name, value)

    @classmethod
    def from_reference(cls, reference: pulumi.StackReference) -> KubernetesLayerInputs:
        """The values the infrastructure stack exported; a missing one fails the run naming it (``require_output``)."""

        def text(name: str) -> pulumi.Output[str]:
            return reference.require_output(name).apply(str)

        return cls(
            # Secret already when the engine reads them (secretOutputNames); wrapped again so no path can print them.
            kubeconfig=pulumi.Output.secret(text(_KUBECONFIG)),
            volume_key_arn=text(_VOLUME_KEY),
            mlflow_storage=ExternalMlflowStorage(
                backend_store_uri=pulumi.Output.secret(text(_BACKEND_STORE)),
                artifacts_destination=text(_ARTIFACTS),
                service_account_annotations={IRSA_ROLE_ANNOTATION: text(_MLFLOW_ROLE)},
                s3_endpoint_url=text(_S3_ENDPOINT),
            ),
            lab_spec_digest=text(_SPEC_DIGEST),
        )


_KUBECONFIG = "kubeconfig"
_VOLUME_KEY = "volumeKeyArn"
_BACKEND_STORE = "mlflowBackendStoreUri"
_ARTIFACTS = "mlflowArtifactsDestination"
_MLFLOW_ROLE = "mlflowRoleArn"
_S3_ENDPOINT = "mlflowS3EndpointUrl"
_SPEC_DIGEST = "labSpecDigest"
KUBERNETES_LAYER_OUTPUTS = (_KUBECONFIG, _VOLUME_KEY, _BACKEND_STORE, _ARTIFACTS, _MLFLOW_ROLE, _S3_ENDPOINT, _SPEC_DIGEST)
"""The infrastructure stack's outputs the Kubernetes layer reads."""
