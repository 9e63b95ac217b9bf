"""The optional ingress (``spec.ingress``): MLflow and Qdrant's REST API over TLS, for auditors' machines on the VPN.

Each service namespace gets one Ingress with the spec's class, annotations (e.g. keeping the
load balancer internal, allowing only the VPN's range) and TLS from ``tls_secret_name``, a
Secret the architects provide in both namespaces. Without ``spec.ingress`` nothing is
exposed: the services are reached with ``kubectl port-forward``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta, mlflow, qdrant
from ailab.spec import naming
from ailab.spec.model import IngressSpec, LabSpec


@dataclass(frozen=True)
class IngressesArgs:
    spec: LabSpec
    ingress: IngressSpec
    mlflow_namespace: pulumi.Input[str]
    vector_db_namespace: pulumi.Input[str]


class Ingresses(pulumi.ComponentResource):
    """An Ingress for MLflow and one for Qdrant, both TLS-only."""

    def __init__(self, name: str, args: IngressesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Ingresses", name, None, opts)
        self._name, self._spec, self._ingress = name, args.spec, args.ingress
        self._route("mlflow", args.mlflow_namespace, args.ingress.mlflow_host, mlflow.APP, naming.MLFLOW_PORT)
        self._route("qdrant", args.vector_db_namespace, args.ingress.qdrant_host, qdrant.APP, naming.QDRANT_HTTP_PORT)
        self.register_outputs({"mlflowHost": args.ingress.mlflow_host, "qdrantHost": args.ingress.qdrant_host})

    def _route(self, key: str, namespace: pulumi.Input[str], host: str, service: str, port: int) -> None:
        backend = k8s.networking.v1.IngressBackendArgs(
            service=k8s.networking.v1.IngressServiceBackendArgs(
                name=service, port=k8s.networking.v1.ServiceBackendPortArgs(number=port)
            )
        )
        k8s.networking.v1.Ingress(
            f"{self._name}-{key}",
            metadata=meta.object_meta(
                self._spec, service, meta.INGRESS, namespace, extra_annotations=dict(self._ingress.annotations)
            ),
            spec=k8s.networking.v1.IngressSpecArgs(
                ingress_class_name=self._ingress.class_name,
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
            opts=pulumi.ResourceOptions(parent=self),
        )
