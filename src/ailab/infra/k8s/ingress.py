"""The optional ingress (``spec.ingress``): MLflow and Qdrant's REST API over TLS, for auditors' machines on the VPN.

Each service namespace gets one Ingress of the spec's class, with TLS from ``tls_secret_name``.
With the lab's own Traefik (:mod:`.traefik`) the Ingresses route on its TLS entrypoint only and
wait for its IngressClass and release, so the controller that fills their status exists before
Pulumi waits for it; each Ingress also waits for the service it routes to, whose endpoints
Pulumi's await checks. With ``cluster_issuer``, cert-manager's ``cert-manager.io/cluster-issuer``
annotation makes cert-manager issue the certificate into that Secret; without it the architects
create the Secret in both namespaces. Without ``spec.ingress`` nothing is exposed: the services
are reached with ``kubectl port-forward``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, mlflow, qdrant, traefik
from ailab.spec import naming
from ailab.spec.model import IngressSpec, LabSpec


@dataclass(frozen=True)
class IngressesArgs:
    spec: LabSpec
    ingress: IngressSpec
    mlflow_namespace: pulumi.Input[str]
    vector_db_namespace: pulumi.Input[str]
    controller: Sequence[pulumi.Resource] = field(default=())
    """What serves the class (the lab's IngressClass and Traefik release); empty for a provided controller."""
    backends: Mapping[str, pulumi.Resource] = field(default_factory=dict)
    """The MLflow and Qdrant components (keys ``mlflow``, ``qdrant``) each Ingress routes to and waits for."""


CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"


def ingress_annotations(ingress: IngressSpec) -> dict[str, str]:
    """The spec's extra annotations, then the lab's own, which win: TLS-only routing, the certificate's issuer."""
    annotations = dict(ingress.annotations)
    if ingress.is_traefik:
        annotations |= traefik.router_annotations()
    if ingress.cluster_issuer is not None:
        annotations[CLUSTER_ISSUER] = ingress.cluster_issuer
    return annotations


class Ingresses(pulumi.ComponentResource):
    """An Ingress for MLflow and one for Qdrant, both TLS-only."""

    def __init__(self, name: str, args: IngressesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Ingresses", name, None, opts)
        self._name, self._spec, self._ingress = name, args.spec, args.ingress
        self._controller, self._backends = list(args.controller), args.backends
        self._route("mlflow", args.mlflow_namespace, args.ingress.mlflow_host, mlflow.APP, naming.MLFLOW_PORT)
        self._route("qdrant", args.vector_db_namespace, args.ingress.qdrant_host, qdrant.APP, naming.QDRANT_HTTP_PORT)
        self.register_outputs({"mlflowHost": args.ingress.mlflow_host, "qdrantHost": args.ingress.qdrant_host})

    def _backends_of(self, key: str) -> list[pulumi.Resource]:
        backend = self._backends.get(key)
        return [] if backend is None else [backend]

    def _route(self, key: str, namespace: pulumi.Input[str], host: str, service: str, port: int) -> None:
        backend = k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(
                name=service, port=k8s.networking.v1.ServiceBackendPortArgs(number=port)
            )
        )
        k8s.networking.v1.Ingress(
            f"{self._name}-{key}",
            metadata=meta.object_meta(
                self._spec, service, meta.INGRESS, namespace, extra_annotations=ingress_annotations(self._ingress)
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=self._ingress.ingress_class,
                tls=[k8s.networking.v1.IngressTLSArgs(hosts=[host], secret_name=self._ingress.tls_secret_name)],
                rules=[
                    k8s.networking.v1.IngressRuleArgs(
                        host=host,
                        http=k8s.networking.v1.HTTPIngressRuleValueArgs(
                            paths=[k8s.networking.v1.HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)]
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self._controller, *self._backends_of(key)]),
        )
