"""The lab's ingress controller: Traefik, one pinned Helm release behind an internal load balancer (or k3s's, configured).

Installed when ``ingress.controller`` is ``traefik``, in the lab's ``<name>-ingress`` namespace
(PSA restricted, quota, default-deny; see :mod:`.namespaces` and :mod:`.network`). The chart is
Traefik Labs' own (https://traefik.github.io/charts, source github.com/traefik/traefik-helm-chart),
pinned to 41.3.0 (Traefik v3.7.11); ingress-nginx, which the lab used to assume, was retired
upstream in March 2026.

What the values settle, and why:

* **Only TLS is exposed.** The Service publishes ``websecure`` (443 → 8443) alone; the plain
  ``web`` entrypoint is not exposed and ``websecure`` is the default entrypoint of every router.
* **Internal load balancer, VPN only.** On AWS the Service asks for an internal NLB (the
  annotations of both the AWS cloud provider and the AWS Load Balancer Controller, so either
  one keeps it internal); on every target ``loadBalancerSourceRanges`` is ``ingress.source_ranges``
  and ``externalTrafficPolicy: Local`` keeps the client's address, so the NetworkPolicy of the
  controller's namespace can admit the same networks.
* **Ingress status is published** (``providers.kubernetesIngress.publishedService``): Traefik
  copies its Service's load-balancer address into each Ingress, which is what Pulumi's await
  for an Ingress waits for.
* **The IngressClass is the lab's**, a ``networking.k8s.io/v1`` object declared here (controller
  ``traefik.io/ingress-controller``, not the cluster default), not the chart's: it is visible in
  the plan, where the deployability rules look for a controller behind every Ingress, and the
  Ingresses are ordered after it and after the release.
* **Least surface.** Only the Ingress provider runs (no CRD provider, no Gateway API, no
  dashboard) and it watches the MLflow and Qdrant namespaces alone; the chart's CRDs are skipped.
* **k3s** (``ingress.controller: k3s``): nothing is installed. k3s already runs Traefik in
  kube-system with the class ``traefik``; the lab declares the ``HelmChartConfig`` k3s merges
  into that chart's values (:class:`K3sTraefikConfig`): the load balancer's source ranges and the
  published status. The object is visible in the plan as the controller behind the Ingresses.
* **Hardened pods.** Non-root (65532), read-only root filesystem, no privilege escalation, all
  capabilities dropped, RuntimeDefault seccomp, requests equal to limits (the namespace's quota
  is sized from them), spread over nodes with a disruption budget when there are two or more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra import tagging
from ailab.infra.k8s import helm, meta
from ailab.infra.k8s.quota import Footprint
from ailab.spec import labels, naming
from ailab.spec.model import IngressSpec, LabSpec
from ailab.spec.sections.ingress import K3S_NAMESPACE, TRAEFIK_POD_LABELS

TRAEFIK_CHART = "traefik"
TRAEFIK_CHART_VERSION = "41.3.0"
"""Published 2026-08-21 with Traefik v3.7.11 (the chart's appVersion); Traefik v3 is the maintained major line."""
TRAEFIK_HELM_REPO = "https://traefik.github.io/charts"
RELEASE_NAME = "traefik"
"""Also the chart's fullname, hence the Service's name: what publishedService points at."""
INGRESS_CONTROLLER = "traefik.io/ingress-controller"
"""The controller value Traefik's Ingress provider claims IngressClasses by."""

WEBSECURE = "websecure"
WEBSECURE_POD_PORT = 8443
HTTPS_PORT = 443
RUN_AS = 65532
"""The uid/gid the chart's image is built for (non-root)."""

POD_LABELS = TRAEFIK_POD_LABELS
"""The label every Traefik pod carries (the chart's selector), for NetworkPolicy peers."""

ROUTER_ENTRYPOINTS = "traefik.ingress.kubernetes.io/router.entrypoints"
ROUTER_TLS = "traefik.ingress.kubernetes.io/router.tls"

AWS_INTERNAL_ANNOTATIONS = {
    # The AWS cloud provider built into EKS: an internal NLB.
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    # The AWS Load Balancer Controller, where one is installed, reads the scheme instead; instance
    # targets keep the client's address (IP targets would show the NLB's to the NetworkPolicy).
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
}


def footprint(spec: LabSpec) -> Footprint:
    """The controller's pods (replicas plus the surge pod of a rolling update) and its one load balancer."""
    ingress = spec.ingress
    assert ingress is not None and ingress.installed, "Traefik is installed only with ingress.controller: traefik"
    pods = Footprint.of_pods(ingress.replicas + 1, ingress.resources)
    return pods + Footprint(load_balancers=1, node_ports=1)


def service_annotations(spec: LabSpec) -> dict[str, str]:
    """The Service's annotations: an internal load balancer on AWS; none elsewhere (the site's load balancer decides)."""
    return dict(AWS_INTERNAL_ANNOTATIONS) if spec.target == "aws" else {}


def router_annotations() -> dict[str, str]:
    """Ingress annotations for the lab's Traefik: routes on the TLS entrypoint only."""
    return {ROUTER_ENTRYPOINTS: WEBSECURE, ROUTER_TLS: "true"}


def traefik_values(spec: LabSpec, ingress: IngressSpec) -> dict[str, Any]:
    """The chart's values (keys from the chart's values.yaml; its schema refuses unknown ones)."""
    resources = {"cpu": ingress.resources.cpu, "memory": ingress.resources.memory}
    own_labels = {k: v for k, v in tagging.k8s_labels(spec, meta.INGRESS).items() if k != labels.MANAGED_BY}
    values: dict[str, Any] = {
        # The chart's labels already say Helm manages its objects; the lab adds its ownership labels.
        "commonLabels": own_labels,
        "deployment": {"replicas": ingress.replicas, "podAnnotations": tagging.k8s_annotations(spec)},
        "ingressClass": {"enabled": False},
        "gatewayClass": {"enabled": False},
        "gateway": {"enabled": False},
        "api": {"dashboard": False},
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "providers": {
            "kubernetesCRD": {"enabled": False},
            "kubernetesGateway": {"enabled": False},
            "kubernetesIngress": {
                "enabled": True,
                "ingressClass": ingress.ingress_class,
                "namespaces": [naming.mlflow_namespace(spec), naming.vector_db_namespace(spec)],
                "allowExternalNameServices": False,
                "publishedService": {"enabled": True},
            },
        },
        "ports": {
            "web": {"expose": {"default": False}},
            WEBSECURE: {
                "port": WEBSECURE_POD_PORT,
                "exposedPort": HTTPS_PORT,
                "asDefault": True,
                "expose": {"default": True},
                "http": {"tls": {"enabled": True}},
            },
        },
        "service": {
            "enabled": True,
            "annotations": service_annotations(spec),
            "spec": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Local",
                "loadBalancerSourceRanges": [str(network) for network in ingress.source_ranges],
            },
        },
        "resources": {"requests": resources, "limits": resources},
        "podSecurityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "runAsNonRoot": True,
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(POD_LABELS)},
            }
        ],
    }
    if ingress.replicas > 1:
        values["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
    return values


@dataclass(frozen=True)
class TraefikArgs:
    spec: LabSpec
    ingress: IngressSpec
    namespace: pulumi.Input[str]


class Traefik(pulumi.ComponentResource):
    """The lab's IngressClass and the Traefik release that serves it."""

    ingress_class: k8s.networking.v1.IngressClass
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: TraefikArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:Traefik", name, None, opts)
        spec, ingress = args.spec, args.ingress
        self.ingress_class = k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata=meta.object_meta(
                spec,
                ingress.ingress_class,
                meta.INGRESS,
                # Only Ingresses that name the class get Traefik; none falls to it by default.
                extra_annotations={"ingressclass.kubernetes.io/is-default-class": "false"},
            ),
            spec=k8s.networking.v1.IngressClassSpecArgs(controller=INGRESS_CONTROLLER),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = helm.release(
            f"{name}-release",
            helm.Chart(TRAEFIK_CHART, TRAEFIK_CHART_VERSION, TRAEFIK_HELM_REPO),
            release_name=RELEASE_NAME,
            namespace=args.namespace,
            values=traefik_values(spec, ingress),
            timeout_s=600,
            parent=self,
            after=[self.ingress_class],
            # Only the Ingress provider runs: the chart's Traefik and Hub CRDs are not needed.
            skip_crds=True,
        )
        self.register_outputs({"namespace": args.namespace, "chartVersion": TRAEFIK_CHART_VERSION})


K3S_CHART_CONFIG_API = "helm.cattle.io/v1"
K3S_CHART_CONFIG_KIND = "HelmChartConfig"
K3S_CHART = "traefik"
"""k3s applies a HelmChartConfig named like its bundled chart, in kube-system, to that chart."""


def k3s_values(ingress: IngressSpec) -> dict[str, Any]:
    """What the lab changes in k3s's Traefik: who may connect, and Ingress status published (k3s's default, pinned)."""
    return {
        "providers": {"kubernetesIngress": {"publishedService": {"enabled": True}}},
        "service": {"spec": {"loadBalancerSourceRanges": [str(network) for network in ingress.source_ranges]}},
    }


@dataclass(frozen=True)
class K3sTraefikConfigArgs:
    spec: LabSpec
    ingress: IngressSpec


class K3sTraefikConfig(pulumi.ComponentResource):
    """The HelmChartConfig that restricts k3s's bundled Traefik to the spec's source ranges."""

    config: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: K3sTraefikConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ailab:k8s:K3sTraefikConfig", name, None, opts)
        self.config = k8s.apiextensions.CustomResource(
            f"{name}-config",
            api_version=K3S_CHART_CONFIG_API,
            kind=K3S_CHART_CONFIG_KIND,
            metadata=meta.object_meta(args.spec, K3S_CHART, meta.INGRESS, K3S_NAMESPACE),
            # JSON is YAML: k3s reads valuesContent as a values file.
            spec={"valuesContent": json.dumps(k3s_values(args.ingress), indent=2, sort_keys=True)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
