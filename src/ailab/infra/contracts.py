"""Contracts between layers and stacks, kept apart so neither side imports the other.

What the AWS layer hands the platform layer, and what the lab stack hands the sandbox stacks
(:class:`LabOutputs`, its stack outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pulumi

from ailab.spec import naming
from ailab.spec.gpu_sharing import resource_name
from ailab.spec.model import LabSpec

MLFLOW_SERVICE_ACCOUNT = "mlflow"
"""The ServiceAccount MLflow's pods run as: the platform layer creates it, the AWS layer's IRSA role trusts exactly it."""
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The ServiceAccount annotation that names the IRSA role: the AWS layer sets it, the platform's MLflow carries it."""

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


REAPER_TRAIL_PREFIX = "trail/reaper"
"""Where the in-cluster reaper's trail is copied in the evidence bucket: the AWS layer grants the reaper's role this
prefix only, the platform points its ``AILAB_TRAIL_STORE`` here. Its own prefix, because it is a trail of its own
(an operator's trail under ``trail/`` numbers its records and checkpoints independently)."""


@dataclass(frozen=True)
class ReaperTrail:
    """AWS: where the in-cluster reaper's audit trail is copied write-once, and the key that signs its checkpoints."""

    evidence_bucket: pulumi.Input[str]
    signing_key_arn: pulumi.Input[str]
    """The lab's trail signing key (KMS, Ed25519)."""
    bucket_key_arn: pulumi.Input[str]
    """The evidence bucket's SSE-KMS key."""
    s3_endpoint_url: pulumi.Input[str]
    """The VPC's S3 interface endpoint: an address inside the VPC, which the reaper's egress policy admits."""

    def store_url(self) -> pulumi.Output[str]:
        """``AILAB_TRAIL_STORE``: the reaper's prefix of the evidence bucket."""
        return pulumi.Output.format("s3://{0}/{1}", self.evidence_bucket, REAPER_TRAIL_PREFIX)


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


_SECRET = "secret"
_REQUIRED_ON = "required_on"
"""Field metadata: the target (``aws``, ``onprem``) whose lab stacks always have this optional output."""


@dataclass(frozen=True)
class LabNamespaces:
    """The shared services' namespaces: the stack output ``namespaces``, one key per field (camelCase)."""

    mlflow: pulumi.Input[str]
    vector_db: pulumi.Input[str]
    gpu: pulumi.Input[str]


@dataclass(frozen=True)
class LabOutputs:
    """What the lab stack exports for the programs built on it (sandboxes): one field per stack output.

    An output's name is its field's in camelCase (:func:`output_name`). The lab program exports
    exactly these (:func:`export_lab_outputs`), the sandbox program reads exactly these through a
    StackReference (:func:`read_lab_outputs`): no name is spelt on either side, and a field renamed
    or added shows in both at once.
    """

    target: pulumi.Input[str]
    mlflow_url: pulumi.Input[str]
    """In-cluster URL of MLflow's tracking server."""
    qdrant_url: pulumi.Input[str]
    mlflow_admin_username: pulumi.Input[str]
    mlflow_admin_password: pulumi.Input[str] = field(metadata={_SECRET: True})
    qdrant_api_key: pulumi.Input[str] = field(metadata={_SECRET: True})
    namespaces: LabNamespaces
    gpu_resources: pulumi.Input[Mapping[str, str]]
    """GPU pool name to the extended resource its pods request."""
    kubeconfig: pulumi.Input[str] | None = field(default=None, metadata={_SECRET: True, _REQUIRED_ON: "aws"})
    """AWS: the EKS cluster's kubeconfig. On-premises: none, :attr:`kube_context` names the context."""
    kube_context: pulumi.Input[str] | None = field(default=None, metadata={_REQUIRED_ON: "onprem"})
    mlflow_external_url: pulumi.Input[str | None] = None
    """How auditors' machines reach MLflow (the lab's ingress, over the VPN); none without an ingress."""
    qdrant_external_url: pulumi.Input[str | None] = None


def output_name(field_name: str) -> str:
    """The stack output (or ``namespaces`` key) of a field: ``mlflow_admin_password`` -> ``mlflowAdminPassword``."""
    first, *rest = field_name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def lab_output_names(target: str) -> frozenset[str]:
    """The outputs every lab stack on ``target`` has: the fields without a default, and its own cluster access."""
    return frozenset(
        output_name(f.name) for f in fields(LabOutputs) if f.default is MISSING or f.metadata.get(_REQUIRED_ON) == target
    )


def lab_outputs(spec: LabSpec, kubeconfig: pulumi.Input[str] | None) -> LabOutputs:
    """The outputs of ``spec``'s lab: all derived from the spec but the EKS kubeconfig (AWS only)."""
    return LabOutputs(
        target=spec.target,
        mlflow_url=naming.mlflow_url(spec),
        qdrant_url=naming.qdrant_url(spec),
        mlflow_admin_username=spec.mlflow.admin_username,
        mlflow_admin_password=spec.mlflow.admin_password.get_secret_value(),
        qdrant_api_key=spec.vector_db.api_key.get_secret_value(),
        namespaces=LabNamespaces(
            mlflow=naming.mlflow_namespace(spec), vector_db=naming.vector_db_namespace(spec), gpu=naming.gpu_namespace(spec)
        ),
        gpu_resources={pool.name: resource_name(pool) for pool in spec.gpu_pools},
        kubeconfig=kubeconfig,
        kube_context=None if spec.target == "aws" else spec.onprem_settings().kubeconfig_context,
        mlflow_external_url=naming.mlflow_external_url(spec),
        qdrant_external_url=naming.qdrant_external_url(spec),
    )


def export_lab_outputs(outputs: LabOutputs) -> None:
    """``pulumi.export`` every field that has a value; credentials and the kubeconfig as secrets."""
    for f in fields(outputs):
        value = getattr(outputs, f.name)
        if value is None:
            continue
        if isinstance(value, LabNamespaces):
            value = {output_name(key.name): getattr(value, key.name) for key in fields(value)}
        pulumi.export(output_name(f.name), pulumi.Output.secret(value) if f.metadata.get(_SECRET) else value)


def read_lab_outputs(reference: pulumi.StackReference, target: str) -> LabOutputs:
    """The lab's outputs through ``reference``, for a lab on ``target``; call inside a running program.

    An output every such lab has is read with ``require_output``: a lab stack without it fails
    the deployment, naming it. Credentials stay secret whatever the lab stack marked.
    """
    always_there = lab_output_names(target)
    values: dict[str, Any] = {}
    for f in fields(LabOutputs):
        if output_name(f.name) not in always_there:
            # The other target's cluster access is absent; the external URLs exist with an ingress only.
            values[f.name] = None if _REQUIRED_ON in f.metadata else reference.get_output(output_name(f.name))
            continue
        value = reference.require_output(output_name(f.name))
        if f.name == "namespaces":
            values[f.name] = LabNamespaces(**{key.name: _key(value, output_name(key.name)) for key in fields(LabNamespaces)})
        elif f.name == "gpu_resources":
            values[f.name] = value.apply(lambda found: {str(pool): str(resource) for pool, resource in dict(found).items()})
        else:
            text = value.apply(str)
            values[f.name] = pulumi.Output.secret(text) if f.metadata.get(_SECRET) else text
    return LabOutputs(**values)


def _key(mapping: pulumi.Output[Any], key: str) -> pulumi.Output[str]:
    return mapping.apply(lambda found: str(found[key]))


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
    reaper_role_arn: pulumi.Input[str] | None = None
    """The in-cluster reaper's IRSA role (``sandbox.reaper``); None without a reaper."""
    reaper_trail: ReaperTrail | None = None
    """Where the reaper's trail goes (``sandbox.reaper``); None without a reaper. Its S3 endpoint is MLflow's."""

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
            _REAPER_ROLE: self.reaper_role_arn,
        }
        if self.reaper_trail is not None:
            values |= {
                _REAPER_TRAIL_BUCKET: self.reaper_trail.evidence_bucket,
                _REAPER_TRAIL_SIGNING_KEY: self.reaper_trail.signing_key_arn,
                _REAPER_TRAIL_BUCKET_KEY: self.reaper_trail.bucket_key_arn,
            }
        for name, value in values.items():
            if value is not None:
                pulumi.export(name, value)

    @classmethod
    def from_reference(cls, reference: pulumi.StackReference, *, with_reaper: bool) -> KubernetesLayerInputs:
        """The values the infrastructure stack exported; a missing one fails the run naming it (``require_output``).

        ``with_reaper``: the lab has an in-cluster reaper, whose IRSA role and trail the infrastructure stack made.
        """

        def text(name: str) -> pulumi.Output[str]:
            return reference.require_output(name).apply(str)

        s3_endpoint = text(_S3_ENDPOINT)
        # Only a lab with a reaper has its outputs: a required one missing would fail the run.
        trail = (
            ReaperTrail(
                evidence_bucket=text(_REAPER_TRAIL_BUCKET),
                signing_key_arn=text(_REAPER_TRAIL_SIGNING_KEY),
                bucket_key_arn=text(_REAPER_TRAIL_BUCKET_KEY),
                s3_endpoint_url=s3_endpoint,  # the same VPC endpoint as MLflow's: exported once
            )
            if with_reaper
            else None
        )
        return cls(
            # Secret already when the engine reads them (secretOutputNames); wrapped again so no path can print them.
            kubeconfig=pulumi.Output.secret(text(_KUBECONFIG)),
            volume_key_arn=text(_VOLUME_KEY),
            mlflow_storage=ExternalMlflowStorage(
                backend_store_uri=pulumi.Output.secret(text(_BACKEND_STORE)),
                artifacts_destination=text(_ARTIFACTS),
                service_account_annotations={IRSA_ROLE_ANNOTATION: text(_MLFLOW_ROLE)},
                s3_endpoint_url=s3_endpoint,
            ),
            lab_spec_digest=text(_SPEC_DIGEST),
            reaper_role_arn=text(_REAPER_ROLE) if with_reaper else None,
            reaper_trail=trail,
        )


_KUBECONFIG = "kubeconfig"
_VOLUME_KEY = "volumeKeyArn"
_BACKEND_STORE = "mlflowBackendStoreUri"
_ARTIFACTS = "mlflowArtifactsDestination"
_MLFLOW_ROLE = "mlflowRoleArn"
_S3_ENDPOINT = "mlflowS3EndpointUrl"
_SPEC_DIGEST = "labSpecDigest"
_REAPER_ROLE = "reaperRoleArn"
_REAPER_TRAIL_BUCKET = "reaperTrailBucket"
_REAPER_TRAIL_SIGNING_KEY = "reaperTrailSigningKey"
_REAPER_TRAIL_BUCKET_KEY = "reaperTrailBucketKey"
KUBERNETES_LAYER_OUTPUTS = (_KUBECONFIG, _VOLUME_KEY, _BACKEND_STORE, _ARTIFACTS, _MLFLOW_ROLE, _S3_ENDPOINT, _SPEC_DIGEST)
"""The infrastructure stack's outputs the Kubernetes layer requires (and :data:`REAPER_OUTPUTS` where there is a reaper)."""
REAPER_OUTPUTS = (_REAPER_ROLE, _REAPER_TRAIL_BUCKET, _REAPER_TRAIL_SIGNING_KEY, _REAPER_TRAIL_BUCKET_KEY)
"""The reaper's IRSA role and trail: required by the Kubernetes layer of a lab with ``sandbox.reaper``."""
