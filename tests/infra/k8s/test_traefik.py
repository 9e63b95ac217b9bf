"""The lab's Traefik: a pinned release behind an internal, VPN-only load balancer, hardened, in a governed namespace.

One test also checks the values against the chart's own ``values.schema.json`` (which refuses
unknown keys) where a copy of the chart is at hand (``AILAB_TRAEFIK_CHART_DIR``): the chart is
not vendored here, and no Helm or network is available to fetch it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ailab.infra.k8s import traefik
from ailab.spec import labels, naming
from ailab.spec.model import IngressSpec

RELEASE = "kubernetes:helm.sh/v3:Release"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"


def release_of(lab):
    (release,) = (r for r in lab.plan.of_type(RELEASE) if r.inputs["chart"] == traefik.TRAEFIK_CHART)
    return release


def test_release_is_pinned_from_traefiks_repository(aws):
    release = release_of(aws).inputs
    assert release["version"] == "41.3.0" == traefik.TRAEFIK_CHART_VERSION
    assert release["repositoryOpts"] == {"repo": "https://traefik.github.io/charts"}
    assert release["name"] == "traefik"
    assert release["namespace"] == naming.ingress_namespace(aws.spec) == "ailab-ingress"
    assert release["createNamespace"] is False and release["atomic"] is True and release["skipCrds"] is True


def test_the_lab_declares_the_ingress_class_the_chart_does_not(aws):
    ingress_class = aws.one(INGRESS_CLASS, "traefik")
    assert ingress_class["spec"] == {"controller": "traefik.io/ingress-controller"}
    assert ingress_class["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "false"
    values = release_of(aws).inputs["values"]
    assert values["ingressClass"] == {"enabled": False}
    provider = values["providers"]["kubernetesIngress"]
    assert provider["ingressClass"] == "traefik" and provider["enabled"] is True
    release = release_of(aws)
    assert any(urn.endswith("::ailab-platform-traefik-class") for urn in release.dependencies)
    assert any(urn.endswith("::ailab-platform-namespaces-ailab-ingress") for urn in release.dependencies)


def test_ingress_status_is_published_for_pulumis_await(aws):
    provider = release_of(aws).inputs["values"]["providers"]["kubernetesIngress"]
    assert provider["publishedService"] == {"enabled": True}
    # Traefik watches the two service namespaces only, and only the Ingress provider runs.
    assert provider["namespaces"] == [naming.mlflow_namespace(aws.spec), naming.vector_db_namespace(aws.spec)]
    values = release_of(aws).inputs["values"]
    assert values["providers"]["kubernetesCRD"] == {"enabled": False}
    assert values["providers"]["kubernetesGateway"] == {"enabled": False}
    assert values["api"] == {"dashboard": False} and values["gateway"] == {"enabled": False}


def test_aws_service_is_an_internal_nlb_open_to_the_vpn_only(aws):
    service = release_of(aws).inputs["values"]["service"]
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    # Instance targets keep the client's address, which the controller's NetworkPolicy admits by.
    assert service["annotations"]["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "instance"
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerSourceRanges"] == ["10.200.0.0/24"]
    assert service["spec"]["externalTrafficPolicy"] == "Local"


def test_only_the_tls_entrypoint_is_exposed(aws):
    ports = release_of(aws).inputs["values"]["ports"]
    assert ports["web"] == {"expose": {"default": False}}
    websecure = ports["websecure"]
    assert websecure["expose"] == {"default": True} and websecure["exposedPort"] == 443 and websecure["asDefault"] is True
    assert websecure["http"]["tls"]["enabled"] is True


def test_traefik_pods_are_hardened_and_sized(aws):
    values = release_of(aws).inputs["values"]
    pod, container = values["podSecurityContext"], values["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0 and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["readOnlyRootFilesystem"] is True and container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]} and container["privileged"] is False
    assert values["resources"]["requests"] == values["resources"]["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert values["deployment"]["replicas"] == 2 and values["podDisruptionBudget"] == {"enabled": True, "maxUnavailable": 1}
    assert labels.MANAGED_BY not in values["commonLabels"] and values["commonLabels"][labels.OWNER] == aws.spec.tags.owner


def test_ingress_namespace_is_governed_like_the_others(aws):
    name = naming.ingress_namespace(aws.spec)
    namespace = aws.one("kubernetes:core/v1:Namespace", name)
    assert namespace["metadata"]["labels"][labels.PSA_ENFORCE] == "restricted"
    hard = aws.one("kubernetes:core/v1:ResourceQuota", "platform-quota", name)["spec"]["hard"]
    # Two replicas and the surge pod of a rolling update, at 500m and 256Mi each; one load balancer with one port.
    assert hard["pods"] == "3" and hard["requests.cpu"] == hard["limits.cpu"] == "1500m"
    assert hard["requests.memory"] == "768Mi"
    assert hard["services.loadbalancers"] == "1" and hard["services.nodeports"] == "1"
    assert hard["persistentvolumeclaims"] == "0"


def test_traefik_network_policy_admits_the_vpn_and_reaches_the_services_only(aws):
    policies = aws.network_policies(naming.ingress_namespace(aws.spec))
    assert {"default-deny", "allow-dns", "traefik"} <= policies.keys()
    policy = policies["traefik"]
    assert policy["podSelector"] == {"matchLabels": {labels.NAME: "traefik"}}
    (inbound,) = policy["ingress"]
    assert inbound["from"] == [{"ipBlock": {"cidr": "10.200.0.0/24"}}]
    assert inbound["ports"] == [{"protocol": "TCP", "port": traefik.WEBSECURE_POD_PORT}]
    to_mlflow, to_qdrant, to_api = policy["egress"]
    assert to_mlflow["to"][0]["namespaceSelector"]["matchLabels"] == {labels.NAMESPACE_NAME: naming.mlflow_namespace(aws.spec)}
    assert to_mlflow["ports"] == [{"protocol": "TCP", "port": naming.MLFLOW_PORT}]
    assert to_qdrant["ports"] == [{"protocol": "TCP", "port": naming.QDRANT_HTTP_PORT}]
    assert {p["port"] for p in to_api["ports"]} == {443, 6443}


def test_onprem_lab_traefik_has_no_aws_annotations(variant):
    ingress = IngressSpec.model_validate(
        {
            "source_ranges": ["192.168.60.0/24"],
            "tls_secret_name": "ailab-tls",
            "mlflow_host": "mlflow.lab.example.eu",
            "qdrant_host": "qdrant.lab.example.eu",
            "replicas": 1,
        }
    )
    lab = variant("onprem", ingress=ingress)
    values = release_of(lab).inputs["values"]
    assert values["service"]["annotations"] == {}
    assert values["service"]["spec"]["loadBalancerSourceRanges"] == ["192.168.60.0/24"]
    assert "podDisruptionBudget" not in values
    assert lab.one(INGRESS_CLASS, "traefik")


def test_values_match_the_charts_schema(aws):
    chart = os.environ.get("AILAB_TRAEFIK_CHART_DIR")
    if not chart:
        pytest.skip("AILAB_TRAEFIK_CHART_DIR is not set: the traefik chart 41.3.0 is not vendored and cannot be fetched here")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(chart) / "values.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(release_of(aws).inputs["values"], schema)
