"""The ``ingress`` section: MLflow and Qdrant over TLS for auditors' machines on the VPN.

Three ways to get an ingress controller: the lab installs Traefik (``controller: traefik``, in
its own namespace, behind an internal load balancer open to ``source_ranges`` only); the lab
configures the Traefik k3s bundles in kube-system (``controller: k3s``, through k3s's
HelmChartConfig, with the same source ranges); or the cluster runs another one
(``controller: provided``) and the lab only declares the Ingresses for its class. The certificate is named by the spec either way:
a Secret the architects create (``tls_secret_name``), or one cert-manager issues into that
Secret from ``cluster_issuer``.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ailab.spec.sections.common import LocatedValueError, Resources, StrictModel, check_narrow
from ailab.spec.types import DnsLabel

TRAEFIK_CLASS = "traefik"
"""The IngressClass of the Traefik the lab installs (declared by the lab) and of k3s's (declared by k3s)."""
K3S_NAMESPACE = "kube-system"
"""Where k3s runs its bundled Traefik."""
TRAEFIK_POD_LABELS = {"app.kubernetes.io/name": "traefik"}
"""The label Traefik's chart puts on its pods (k3s's bundled chart too)."""

_HOST = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
_RETIRED_ANNOTATIONS = "nginx.ingress.kubernetes.io/"


class IngressSpec(StrictModel):
    """How auditors' machines reach MLflow and Qdrant: an internal ingress with TLS over the VPN (see docs/ingress.md)."""

    controller: Literal["traefik", "k3s", "provided"] = Field(
        default="traefik",
        description=(
            "traefik: the lab installs Traefik (pinned Helm chart) in its own namespace, behind an internal load "
            "balancer; k3s: the lab installs nothing and configures the Traefik k3s bundles (kube-system, class "
            "traefik) through a HelmChartConfig; provided: the cluster already runs a controller of class_name."
        ),
    )
    class_name: str | None = Field(
        default=None,
        min_length=1,
        description=f"IngressClass of a provided controller. The lab's own Traefik and k3s's use '{TRAEFIK_CLASS}'.",
    )
    controller_namespace: DnsLabel | None = Field(
        default=None,
        description=(
            "Namespace of a provided controller's pods: with the sandboxes, the only namespace whose "
            "pods may reach MLflow and Qdrant (k3s's Traefik: kube-system). The lab's own Traefik runs in the namespace NAME-ingress (NAME: the lab's name)."
        ),
    )
    controller_pod_labels: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Labels of a provided controller's pods, so only they, not every pod of controller_namespace, may reach "
            "MLflow and Qdrant (Traefik's: app.kubernetes.io/name: traefik)."
        ),
    )
    source_ranges: list[IPv4Network] = Field(
        default_factory=list,
        description=(
            "Networks allowed to connect to the ingress (the VPN's): the load balancer's source ranges, and the "
            "NetworkPolicy of the lab's Traefik. Required with controller: traefik or k3s; never wider than a /8."
        ),
    )
    replicas: int = Field(default=2, ge=1, le=5, description="Replicas of the lab's Traefik (2 or more survive a node drain).")
    resources: Resources = Field(
        default_factory=lambda: Resources(cpu="500m", memory="256Mi"),
        description="CPU and memory of each Traefik pod (requests equal limits).",
    )
    tls_secret_name: DnsLabel = Field(
        description=(
            "Secret (type kubernetes.io/tls, in the MLflow and the Qdrant namespace) holding the certificate: created by "
            "the architects, or by cert-manager when cluster_issuer is set."
        )
    )
    cluster_issuer: DnsLabel | None = Field(
        default=None,
        description=(
            "cert-manager ClusterIssuer that issues the certificate into tls_secret_name (cert-manager must already run "
            "in the cluster; the lab does not install it). Without it the architects create the Secret."
        ),
    )
    ca_bundle: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "PEM file of the CA that signed the ingress certificate, relative to the project directory (e.g. "
            "certs/lab-ca.pem): ailab sandbox commands verify MLflow and Qdrant against it, and the next steps name it "
            "for auditors' clients. Certificates only, never a key. Without it, the system trust store."
        ),
    )
    mlflow_host: str = Field(pattern=_HOST, description="Host name of MLflow behind the ingress.")
    qdrant_host: str = Field(pattern=_HOST, description="Host name of Qdrant behind the ingress.")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Extra annotations on both Ingresses, e.g. a provided Traefik's router.entrypoints: websecure.",
    )

    @field_validator("source_ranges")
    @classmethod
    def _narrow_enough(cls, value: list[IPv4Network]) -> list[IPv4Network]:
        check_narrow(value, "opens the ingress too wide; list the VPN's networks (a /8 or narrower)")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _inside_the_project(cls, value: str | None) -> str | None:
        # Relative and never climbing out: the file travels with the project's stack files, whoever runs ailab.
        if value is not None and (PurePosixPath(value).is_absolute() or ".." in PurePosixPath(value).parts):
            raise ValueError(
                f"{value}: give the CA's PEM file relative to the project directory, inside it (e.g. certs/lab-ca.pem)"
            )
        return value

    @field_validator("annotations")
    @classmethod
    def _no_retired_controller(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.startswith(_RETIRED_ANNOTATIONS):
                raise ValueError(
                    f"{key} is an annotation of ingress-nginx, retired upstream in March 2026; "
                    "use source_ranges, or your controller's own annotations"
                )
        return value

    @model_validator(mode="after")
    def _controller_settings(self) -> IngressSpec:
        provided_only = ("class_name", "controller_namespace", "controller_pod_labels")
        if self.controller == "provided":
            for field in ("class_name", "controller_namespace"):
                if getattr(self, field) is None:
                    raise LocatedValueError((field,), f"controller: provided needs {field}, the cluster's controller's")
            if self.source_ranges:
                raise LocatedValueError(
                    ("source_ranges",),
                    "source_ranges applies to the lab's or k3s's Traefik only; restrict a provided controller's Service in the cluster",
                )
        else:
            for field in provided_only:
                if getattr(self, field):
                    raise LocatedValueError(
                        (field,), f"{field} is for controller: provided; {self.controller}'s Traefik sets its own: remove it"
                    )
            if not self.source_ranges:
                raise LocatedValueError(
                    ("source_ranges",),
                    f"controller: {self.controller} needs source_ranges, the VPN networks its load balancer admits",
                )
        if not self.installed:
            for field in ("replicas", "resources"):
                if field in self.model_fields_set:
                    raise LocatedValueError(
                        (field,),
                        f"{field} sizes the Traefik the lab installs; controller {self.controller}'s is the cluster's: remove it",
                    )
        return self

    @property
    def installed(self) -> bool:
        """Whether the lab installs the controller (Traefik) itself."""
        return self.controller == "traefik"

    @property
    def is_traefik(self) -> bool:
        """Whether the controller is a Traefik whose settings the lab knows (its own, or k3s's)."""
        return self.controller != "provided"

    @property
    def ingress_class(self) -> str:
        """The IngressClass the Ingresses name."""
        return TRAEFIK_CLASS if self.is_traefik else str(self.class_name)

    @property
    def cluster_controller_namespace(self) -> str | None:
        """Where the cluster's own controller runs (k3s's, or a provided one); None for the lab's Traefik."""
        if self.controller == "k3s":
            return K3S_NAMESPACE
        return self.controller_namespace

    @property
    def pod_labels(self) -> dict[str, str]:
        """Labels of the controller's pods (Traefik's chart's, or the spec's for a provided controller)."""
        return dict(TRAEFIK_POD_LABELS) if self.is_traefik else dict(self.controller_pod_labels)
