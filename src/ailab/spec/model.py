"""The lab specification: one pydantic model tree, read from the stack config key ``ailab:lab``.

Each section of the tree is a module of :mod:`ailab.spec.sections`; this module assembles them
into :class:`LabSpec` and re-exports their public names, so ``from ailab.spec.model import X``
works for every model. Every model forbids unknown keys, so a typo in a stack file is an error,
not a silently ignored setting. Cross-field rules (target-specific settings, EU residency, pools
named by profiles) live in :meth:`LabSpec._cross_checks` and raise :class:`LocatedValueError` so
the message still names the exact path (``lab.gpu_pools[1].instance_types``).

Adding a section: a module in ``ailab/spec/sections/`` with its model, and its field on
:class:`LabSpec` below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, model_validator

from ailab.errors import BadInputError
from ailab.spec import gpu_hardware, kubernetes_support
from ailab.spec.sections.access import AccessSpec, OidcSpec
from ailab.spec.sections.aws import ApiAccess, AwsSettings, PublicEndpointAccess, RegionOverride, TransitGatewayAccess
from ailab.spec.sections.common import (
    RFC1918_NETWORKS,
    DataClassification,
    Loc,
    LocatedValueError,
    PinnedImage,
    Resources,
    StrictModel,
    check_image,
    check_password,
    model_classes,
)
from ailab.spec.sections.evidence import EvidenceSpec
from ailab.spec.sections.ingress import IngressSpec
from ailab.spec.sections.mlflow import OFFICIAL_MLFLOW_IMAGE, MlflowArtifacts, MlflowDatabase, MlflowSpec, rds_password_problem
from ailab.spec.sections.nodes import (
    MIG_PROFILE,
    ClusterSpec,
    ExclusiveSharing,
    GpuPool,
    GpuSharing,
    MigSharing,
    NodePool,
    Taint,
    TimeSlicingSharing,
    is_graviton,
)
from ailab.spec.sections.onprem import OnPremSettings
from ailab.spec.sections.sandbox import EgressRule, ReaperSettings, SandboxProfile, SandboxSettings
from ailab.spec.sections.supply_chain import SupplyChainSpec
from ailab.spec.sections.tags import TagsSpec
from ailab.spec.sections.vector_db import VectorDbSpec
from ailab.spec.types import DnsLabel

__all__ = [
    "MIG_PROFILE",
    "OFFICIAL_MLFLOW_IMAGE",
    "RFC1918_NETWORKS",
    "AccessSpec",
    "ApiAccess",
    "AwsSettings",
    "ClusterSpec",
    "DataClassification",
    "EgressRule",
    "EvidenceSpec",
    "ExclusiveSharing",
    "GpuPool",
    "GpuSharing",
    "IngressSpec",
    "LabSpec",
    "Loc",
    "LocatedValueError",
    "MigSharing",
    "MlflowArtifacts",
    "MlflowDatabase",
    "MlflowSpec",
    "NodePool",
    "OidcSpec",
    "OnPremSettings",
    "PinnedImage",
    "PublicEndpointAccess",
    "ReaperSettings",
    "RegionOverride",
    "Resources",
    "SandboxProfile",
    "SandboxSettings",
    "StrictModel",
    "SupplyChainSpec",
    "TagsSpec",
    "Taint",
    "TimeSlicingSharing",
    "TransitGatewayAccess",
    "VectorDbSpec",
    "check_image",
    "check_password",
    "is_graviton",
    "model_classes",
    "rds_password_problem",
]


class LabSpec(StrictModel):
    """The whole lab. Stack config key ``ailab:lab``."""

    name: DnsLabel = Field(default="ailab", max_length=20, description="Short prefix of every resource name.")
    target: Literal["aws", "onprem"] = Field(
        description="Where the lab runs: aws (an EKS cluster this program creates) or onprem (an existing cluster)."
    )
    aws: AwsSettings | None = Field(default=None, description="AWS settings; required when target is aws, forbidden otherwise.")
    onprem: OnPremSettings | None = Field(
        default=None, description="On-premises settings; required when target is onprem, forbidden otherwise."
    )
    cluster: ClusterSpec = Field(description="The Kubernetes cluster.")
    system_pool: NodePool = Field(
        default_factory=NodePool,
        description="Nodes for the platform services (MLflow, Qdrant, operators); never tainted for GPUs.",
    )
    gpu_pools: list[GpuPool] = Field(
        min_length=1, description="One or more pools of NVIDIA GPU nodes; sandbox profiles draw GPUs from them by name."
    )
    mlflow: MlflowSpec = Field(description="The MLflow tracking server.")
    vector_db: VectorDbSpec = Field(description="The Qdrant vector database.")
    sandbox: SandboxSettings = Field(description="What auditors may ask for: sandbox profiles and the egress allowlist.")
    access: AccessSpec = Field(description="Who may do what: the OIDC groups of the three personas.")
    tags: TagsSpec = Field(description="Ownership and classification, applied as AWS tags and Kubernetes labels.")
    ingress: IngressSpec | None = Field(default=None, description="Without it, reach the services with kubectl port-forward.")
    supply_chain: SupplyChainSpec = Field(default_factory=SupplyChainSpec, description="Where images may come from.")
    evidence: EvidenceSpec = Field(default_factory=EvidenceSpec, description="The audit trail's store, key and timestamps.")

    @model_validator(mode="after")
    def _cross_checks(self) -> LabSpec:
        for error in self.cross_field_errors():
            raise error
        return self

    def cross_field_errors(self) -> Iterator[LocatedValueError]:
        """Rules that span sections; each error carries its path relative to ``lab``."""
        yield from self._target_errors()
        yield from self._version_errors()
        yield from self._pool_errors()
        yield from self._profile_errors()

    def _target_errors(self) -> Iterator[LocatedValueError]:
        if self.target == "aws":
            if self.aws is None:
                yield LocatedValueError(("aws",), "target is aws: add an aws section with at least region")
            if self.onprem is not None:
                yield LocatedValueError(("onprem",), "target is aws: remove the onprem section")
            reaper = self.sandbox.reaper
            if reaper is not None and reaper.state_credentials_secret is not None:
                yield LocatedValueError(
                    ("sandbox", "reaper", "state_credentials_secret"),
                    "target is aws: remove it; the reaper reaches the state bucket with its IRSA role, no stored keys",
                )
            if reaper is not None and reaper.trail_store is not None:
                yield LocatedValueError(
                    ("sandbox", "reaper", "trail_store"),
                    "target is aws: remove it; the reaper copies its trail to the lab's evidence bucket (trail/reaper)",
                )
            problem = rds_password_problem(self.mlflow.database.password.get_secret_value())
            if problem:
                yield LocatedValueError(
                    ("mlflow", "database", "password"),
                    f"{problem}; set another with pulumi config set --secret --path 'ailab:lab.mlflow.database.password'",
                )
        else:
            if self.onprem is None:
                yield LocatedValueError(("onprem",), "target is onprem: add an onprem section with kubeconfig_context")
            if self.aws is not None:
                yield LocatedValueError(("aws",), "target is onprem: remove the aws section")
            reaper = self.sandbox.reaper
            if reaper is not None and reaper.state_credentials_secret is None:
                yield LocatedValueError(
                    ("sandbox", "reaper", "state_credentials_secret"),
                    "target is onprem: name the Secret with the state store's access_key_id and secret_access_key",
                )
            if reaper is not None and not reaper.state_networks:
                yield LocatedValueError(
                    ("sandbox", "reaper", "state_networks"),
                    "target is onprem: list where the S3-compatible state store answers, so the reaper may reach it",
                )

    def _version_errors(self) -> Iterator[LocatedValueError]:
        """A Kubernetes version out of standard support gets no fixes (or a paid, forced-upgrade extension on EKS)."""
        calendar: kubernetes_support.Calendar = "eks" if self.target == "aws" else "upstream"
        problem = kubernetes_support.support_problem(self.cluster.kubernetes_version, calendar)
        if problem is not None:
            yield LocatedValueError(("cluster", "kubernetes_version"), problem)

    def pools(self) -> Iterator[tuple[Loc, NodePool]]:
        """Every node pool with its path: the system pool first, then the GPU pools."""
        yield ("system_pool",), self.system_pool
        for index, pool in enumerate(self.gpu_pools):
            yield ("gpu_pools", index), pool

    def _pool_errors(self) -> Iterator[LocatedValueError]:
        names: set[str] = set()
        for loc, pool in self.pools():
            if pool.name in names:
                yield LocatedValueError((*loc, "name"), f"pool name {pool.name!r} is used twice")
            names.add(pool.name)
            if self.target == "aws":
                if not pool.instance_types:
                    yield LocatedValueError((*loc, "instance_types"), "target is aws: list at least one EC2 instance type")
                for index, instance_type in enumerate(pool.instance_types):
                    problem = gpu_hardware.instance_type_problem(instance_type)
                    if problem is not None:
                        yield LocatedValueError((*loc, "instance_types", index), problem)
                if pool.node_selector:
                    yield LocatedValueError(
                        (*loc, "node_selector"), "target is aws: node_selector is for onprem; use instance_types"
                    )
                if len({is_graviton(instance_type) for instance_type in pool.instance_types}) > 1:
                    yield LocatedValueError(
                        (*loc, "instance_types"),
                        f"{', '.join(pool.instance_types)} mix Arm (Graviton) and x86 types; a node group has one architecture",
                    )
            else:
                if pool.instance_types:
                    yield LocatedValueError(
                        (*loc, "instance_types"), "target is onprem: instance_types is for aws; use node_selector"
                    )
                if isinstance(pool, GpuPool) and not pool.node_selector:
                    yield LocatedValueError(
                        (*loc, "node_selector"), "target is onprem: give the labels that select this pool's nodes"
                    )
        strategies = {pool.sharing.strategy for pool in self.gpu_pools if isinstance(pool.sharing, MigSharing)}
        if len(strategies) > 1:
            yield LocatedValueError(
                ("gpu_pools",), "all MIG pools must use the same strategy (the GPU operator has one per cluster)"
            )

    def _profile_errors(self) -> Iterator[LocatedValueError]:
        pools = {pool.name: pool for pool in self.gpu_pools}
        for name, profile in self.sandbox.profiles.items():
            loc = ("sandbox", "profiles", name)
            if profile.gpu_pool is not None and profile.gpu_pool not in pools:
                yield LocatedValueError(
                    (*loc, "gpu_pool"), f"no GPU pool named {profile.gpu_pool!r}; pools are {', '.join(pools)}"
                )

    def gpu_pool(self, name: str) -> GpuPool:
        """The GPU pool called ``name`` (validated to exist when a profile names it)."""
        for pool in self.gpu_pools:
            if pool.name == name:
                return pool
        raise KeyError(name)

    # "Which target?" is asked one way, ``target == "aws"`` (or ``"onprem"``); these two give that
    # target's section, typed, so callers need neither a None check nor an assert.
    def aws_settings(self) -> AwsSettings:
        """The ``aws`` section of an aws lab (a validated one always has it)."""
        if self.target != "aws" or self.aws is None:
            raise BadInputError("lab.aws: the AWS lab needs an aws section with at least region")
        return self.aws

    def onprem_settings(self) -> OnPremSettings:
        """The ``onprem`` section of an on-premises lab (a validated one always has it)."""
        if self.target != "onprem" or self.onprem is None:
            raise BadInputError("lab.onprem: the on-premises lab needs an onprem section with kubeconfig_context")
        return self.onprem

    @property
    def region(self) -> str | None:
        """The AWS region of an aws lab, else None."""
        return self.aws_settings().region if self.target == "aws" else None
