"""Object metadata every platform resource carries: the lab's labels and annotations, one way.

Components name their objects explicitly (no Pulumi auto-naming): other programs and the
spec's :mod:`~ailab.spec.naming` address MLflow, Qdrant and the namespaces by these names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra import tagging
from ailab.spec import labels
from ailab.spec.model import LabSpec

# app.kubernetes.io/component values: what part of the lab an object belongs to.
EXPERIMENT_TRACKING = "experiment-tracking"
DATABASE = "database"
VECTOR_DATABASE = "vector-database"
GPU_OPERATOR = "gpu-operator"
NETWORK_ISOLATION = "network-isolation"
ACCESS_CONTROL = "access-control"
INGRESS = "ingress"
STORAGE = "storage"
SANDBOX = "sandbox"
SANDBOX_EXPIRY = "sandbox-expiry"


@dataclass(frozen=True)
class Tenant:
    """Who owns objects the lab runs for someone else (an audit's sandbox), in place of the lab's owner."""

    owner: str
    """The ``owner`` label (a valid label value)."""
    data_classification: str
    contact: str | None = None
    """The ``owner-contact`` annotation (an e-mail address is no label value); none: no contact at all."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """More labels on every object of the tenant (e.g. the audit id)."""


def object_meta(
    spec: LabSpec,
    name: str | None,
    component: str,
    namespace: pulumi.Input[str] | None = None,
    *,
    tenant: Tenant | None = None,
    extra_labels: Mapping[str, str] | None = None,
    extra_annotations: Mapping[str, pulumi.Input[str]] | None = None,
) -> k8s.meta.v1.ObjectMetaArgs:
    """Metadata with the lab's ownership labels (:func:`~ailab.infra.tagging.k8s_labels`) and annotations.

    A ``tenant``'s owner, classification and contact replace the lab's: the lab's owner contact
    on an audit's objects would name the wrong person to ask. ``name`` is None for pod templates,
    whose pods are named by their controller.
    """
    object_labels = tagging.k8s_labels(spec, component)
    annotations: dict[str, pulumi.Input[str]] = {**tagging.k8s_annotations(spec)}
    if tenant is not None:
        object_labels |= {labels.OWNER: tenant.owner, labels.DATA_CLASSIFICATION: tenant.data_classification, **tenant.labels}
        annotations = {labels.OWNER_CONTACT: tenant.contact} if tenant.contact else {}
    annotations |= extra_annotations or {}
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels={**object_labels, **(extra_labels or {})},
        annotations=annotations or None,
    )


def selector_labels(spec: LabSpec, app: str) -> dict[str, str]:
    """The labels that select one application's pods; stable for the life of the workload (selectors are immutable)."""
    return {labels.NAME: app, labels.PART_OF: spec.name}


class HasMetadata(Protocol):
    @property
    def metadata(self) -> pulumi.Output[k8s.meta.v1.outputs.ObjectMeta]: ...


def name_of(resource: HasMetadata) -> pulumi.Output[str]:
    """The object's name as an Output: whatever refers to it through this is created after it."""
    return resource.metadata.apply(lambda m: m.name or "")


CONFIG_CHECKSUM = "ailab.eu/config-checksum"
"""Pod-template annotation: a digest of the Secret data the pods read (env vars and files alike).

Kubernetes restarts nothing when a Secret changes; a changed digest changes the pod template, so
the Deployment or StatefulSet rolls its pods onto the new credentials."""


def config_checksum(data: Mapping[str, pulumi.Input[str]]) -> dict[str, pulumi.Output[str]]:
    """The :data:`CONFIG_CHECKSUM` annotation for ``data`` (the Secret's ``string_data``).

    The digest is published in the clear: SHA-256 over the whole data, high-entropy generated
    credentials included, reveals none of them, and a readable annotation keeps the pod template
    out of Pulumi's secret handling.
    """
    keys = sorted(data)
    digest = pulumi.Output.all(*(data[key] for key in keys)).apply(
        lambda values: hashlib.sha256(
            b"\0".join(f"{key}={value}".encode() for key, value in zip(keys, values, strict=True))
        ).hexdigest()
    )
    return {CONFIG_CHECKSUM: pulumi.Output.unsecret(digest)}


def secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """``value`` marked secret, whether it was a plain string or an Output (secret or not)."""
    return pulumi.Output.secret(value)
