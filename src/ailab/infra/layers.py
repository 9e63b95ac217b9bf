"""An AWS lab in two stacks (``aws.kubernetes_layer``): which layer a stack builds, and how the second reads the first.

The infrastructure stack exports :class:`~ailab.infra.contracts.KubernetesLayerInputs`; the Kubernetes
layer's stack reads it back through a ``StackReference``. Both stacks' files hold one spec, and the
Kubernetes layer checks that against the digest the infrastructure stack was deployed with.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, Literal

import pulumi

from ailab.errors import BadInputError
from ailab.infra.contracts import KubernetesLayerInputs
from ailab.spec.model import LabSpec

Layer = Literal["whole", "infrastructure", "kubernetes"]
"""What one stack builds: the whole lab, or one layer of an AWS lab split by ``aws.kubernetes_layer``."""


def stack_layer(spec: LabSpec, stack: str) -> Layer:
    """The layer ``stack`` builds; a stack the spec's ``kubernetes_layer`` does not name is refused."""
    layers = spec.aws_settings().kubernetes_layer if spec.target == "aws" else None
    if layers is None:
        return "whole"
    if stack == layers.infrastructure_stack:
        return "infrastructure"
    if stack == layers.kubernetes_stack:
        return "kubernetes"
    raise BadInputError(
        f"stack {stack}: lab.aws.kubernetes_layer names the stacks {layers.infrastructure_stack} and "
        f"{layers.kubernetes_stack}; run one of them, or rename them there"
    )


def stack_reference_name(project: str, stack: str) -> str:
    """A stack of ``project`` as a ``StackReference`` names it on a DIY backend (file:// or s3://), which ailab uses."""
    return f"organization/{project}/{stack}"


def from_infrastructure_stack(spec: LabSpec) -> tuple[pulumi.Output[str], KubernetesLayerInputs]:
    """In the Kubernetes layer's stack: the infrastructure stack's outputs, and the kubeconfig to reach its cluster.

    Every platform input comes from there. That stack was deployed to the end before this one runs, so its
    node groups, storage driver, access entries and network path exist: a provider of that kubeconfig needs
    no explicit order. The kubeconfig is only given once the specs are known to agree. The stack exports
    the kubeconfig, region and cluster name as the infrastructure stack does, so either can serve sandboxes.
    """
    layers = spec.aws_settings().kubernetes_layer
    assert layers is not None  # stack_layer returned "kubernetes"
    infrastructure = pulumi.StackReference(
        f"{spec.name}-infrastructure", stack_reference_name(pulumi.get_project(), layers.infrastructure_stack)
    )
    from ailab.infra.aws.database import rds_ca_bundle

    read = KubernetesLayerInputs.from_reference(infrastructure, with_reaper=spec.sandbox.reaper is not None)
    # The RDS CA bundle is a file ailab ships, chosen by region: this layer takes it from the spec, not the stack.
    storage = dataclasses.replace(read.mlflow_storage, database_ca_bundle=rds_ca_bundle(spec.aws_settings().region))
    inputs = dataclasses.replace(read, mlflow_storage=storage)
    pulumi.export("region", spec.region)
    pulumi.export("clusterName", infrastructure.require_output("clusterName"))
    expected = spec_digest(spec)

    def checked(values: list[Any]) -> str:
        check_same_spec(str(values[1]), expected, layers.infrastructure_stack)
        return str(values[0])

    return pulumi.Output.all(inputs.kubeconfig, inputs.lab_spec_digest).apply(checked), inputs


def spec_digest(spec: LabSpec) -> str:
    """SHA-256 of the spec as JSON, secrets masked (pydantic writes ``**********``): rotating one changes nothing."""
    return hashlib.sha256(spec.model_dump_json().encode()).hexdigest()


def check_same_spec(found: str, expected: str, infrastructure_stack: str) -> None:
    """Refuse to install the platform from a spec other than the one the infrastructure stack was deployed with.

    A ``RunError``, not an ailab error: raised inside an apply, it ends the run as the engine reports one,
    a single line, where ``run_lab_program`` (which turns ailab's errors into it) cannot catch it.
    """
    if found != expected:
        raise pulumi.RunError(
            f"the infrastructure stack {infrastructure_stack} was deployed from another ailab:lab than this stack's: "
            f"copy it again (pulumi config cp -s {infrastructure_stack} --dest {pulumi.get_stack()}), or pulumi up "
            f"-s {infrastructure_stack} first"
        )
