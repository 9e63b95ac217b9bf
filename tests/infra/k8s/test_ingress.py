"""The Ingresses: the spec's class, TLS from the named Secret (or cert-manager's), a controller behind each; no nginx."""

from __future__ import annotations

import json

import yaml

from ailab.infra.k8s import traefik
from ailab.infra.k8s.ingress import CLUSTER_ISSUER
from ailab.spec import naming
from ailab.spec.model import IngressSpec

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
K3S_CONFIG = "kubernetes:helm.cattle.io/v1:HelmChartConfig"


def routes(lab):
    settings = lab.spec.ingress
    return {
        "mlflow": (naming.mlflow_namespace(lab.spec), settings.mlflow_host, naming.MLFLOW_PORT),
        "qdrant": (naming.vector_db_namespace(lab.spec), settings.qdrant_host, naming.QDRANT_HTTP_PORT),
    }


def test_both_examples_expose_mlflow_and_qdrant_over_tls_only(lab):
    settings = lab.spec.ingress
    for service, (namespace, host, port) in routes(lab).items():
        ingress = lab.one(INGRESS, service, namespace)
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "traefik"
        assert spec["tls"] == [{"hosts": [host], "secretName": settings.tls_secret_name}]
        (rule,) = spec["rules"]
        assert rule["host"] == host
        assert rule["http"]["paths"][0]["backend"] == {"service": {"name": service, "port": {"number": port}}}
        annotations = ingress["metadata"]["annotations"]
        # Both examples route on Traefik's TLS entrypoint only: the lab's Traefik by itself, k3s's by the spec's annotations.
        assert annotations[traefik.ROUTER_ENTRYPOINTS] == "websecure" and annotations[traefik.ROUTER_TLS] == "true"
        assert CLUSTER_ISSUER not in annotations


def test_aws_ingresses_wait_for_the_labs_class_and_controller(aws):
    (ingress_class,) = aws.plan.of_type(INGRESS_CLASS)
    (release,) = (r for r in aws.plan.of_type(RELEASE) if r.inputs["chart"] == traefik.TRAEFIK_CHART)
    ingresses = aws.plan.of_type(INGRESS)
    assert len(ingresses) == 2
    for ingress in ingresses:
        assert ingress.inputs["spec"]["ingressClassName"] == ingress_class.inputs["metadata"]["name"]
        assert {ingress_class.urn, release.urn} <= set(ingress.dependencies), ingress.name


def test_each_ingress_waits_for_the_service_it_routes_to(lab):
    """Pulumi's Ingress await checks the backends' endpoints: the Service and its pods come first."""
    for ingress in lab.plan.of_type(INGRESS):
        service = ingress.inputs["metadata"]["name"]
        component = {"mlflow": "ailab:k8s:Mlflow", "qdrant": "ailab:k8s:Qdrant"}[service]
        others = {"mlflow": "ailab:k8s:Qdrant", "qdrant": "ailab:k8s:Mlflow"}[service]
        waited = [urn for urn in ingress.dependencies if f"{component}$" in urn]
        assert any("kubernetes:core/v1:Service::" in urn for urn in waited), (service, ingress.dependencies)
        assert not any(f"{others}$" in urn for urn in ingress.dependencies), service


def test_k3s_traefik_is_configured_not_installed(onprem):
    assert onprem.spec.ingress.controller == "k3s"
    assert len(onprem.of_type(INGRESS)) == 2
    assert not onprem.of_type(INGRESS_CLASS)  # k3s declares its class "traefik" itself
    assert [r["chart"] for r in onprem.of_type(RELEASE)] == ["gpu-operator"]
    assert not onprem.plan.of_type("ailab:k8s:Traefik")
    assert naming.ingress_namespace(onprem.spec) not in naming.platform_namespaces(onprem.spec)
    (config,) = onprem.plan.of_type(K3S_CONFIG)
    assert config.inputs["metadata"]["name"] == "traefik" and config.inputs["metadata"]["namespace"] == "kube-system"
    values = yaml.safe_load(config.inputs["spec"]["valuesContent"])
    assert values["service"]["spec"]["loadBalancerSourceRanges"] == ["10.200.0.0/24"]
    assert values["providers"]["kubernetesIngress"]["publishedService"] == {"enabled": True}
    for ingress in onprem.plan.of_type(INGRESS):
        assert config.urn in ingress.dependencies, ingress.name


def test_a_provided_controller_gets_the_ingresses_only(variant, onprem):
    settings = onprem.spec.ingress.model_dump(exclude={"source_ranges", "replicas", "resources"})
    ingress = IngressSpec.model_validate(
        {**settings, "controller": "provided", "class_name": "haproxy", "controller_namespace": "haproxy-controller"}
    )
    lab = variant("onprem", ingress=ingress)
    assert not lab.of_type(INGRESS_CLASS) and not lab.of_type(K3S_CONFIG)
    assert [r["chart"] for r in lab.of_type(RELEASE)] == ["gpu-operator"]
    for planned in lab.of_type(INGRESS):
        assert planned["spec"]["ingressClassName"] == "haproxy"
        # Traefik's routing annotations are for Traefik only.
        assert traefik.ROUTER_ENTRYPOINTS not in planned["metadata"]["annotations"]


def test_cert_manager_issues_into_the_named_secret(variant, aws):
    ingress = aws.spec.ingress.model_copy(update={"cluster_issuer": "eu-internal-ca"})
    lab = variant("aws-eu", ingress=IngressSpec.model_validate(ingress.model_dump()))
    for service, (namespace, host, _) in routes(lab).items():
        planned = lab.one(INGRESS, service, namespace)
        assert planned["metadata"]["annotations"][CLUSTER_ISSUER] == "eu-internal-ca"
        # cert-manager's ingress-shim makes a Certificate for each TLS entry, into the Secret the entry names.
        assert planned["spec"]["tls"] == [{"hosts": [host], "secretName": "ailab-tls"}]


def test_the_labs_routing_annotations_win_over_the_specs(variant, aws):
    extra = {traefik.ROUTER_ENTRYPOINTS: "web", "traefik.ingress.kubernetes.io/router.priority": "10"}
    ingress = IngressSpec.model_validate({**aws.spec.ingress.model_dump(), "annotations": extra})
    lab = variant("aws-eu", ingress=ingress)
    annotations = lab.one(INGRESS, "mlflow")["metadata"]["annotations"]
    assert annotations[traefik.ROUTER_ENTRYPOINTS] == "websecure"
    assert annotations["traefik.ingress.kubernetes.io/router.priority"] == "10"


def test_no_ingress_without_the_section(variant):
    lab = variant("aws-eu", ingress=None)
    assert not lab.of_type(INGRESS) and not lab.of_type(INGRESS_CLASS)
    assert [r["chart"] for r in lab.of_type(RELEASE)] == ["gpu-operator"]
    assert naming.ingress_namespace(lab.spec) not in naming.platform_namespaces(lab.spec)


def test_nothing_in_either_plan_names_nginx(lab):
    for resource in lab.plan.resources:
        text = json.dumps([resource.type, resource.name, resource.inputs]).lower()
        assert "nginx" not in text, resource.name


def dep_005_messages(lab):
    """AILAB-DEP-005 (every Ingress has a controller in the deployment) over the platform's plan."""
    from ailab.policy.loaders.plan import records_from_plan
    from ailab.policy.model import RecordSet, RuleContext, all_rules
    from ailab.policy.run import run_rule

    records = RecordSet(records_from_plan(lab.plan.to_json(), "plan"))
    outcomes = run_rule(all_rules()["AILAB-DEP-005"], records, RuleContext.from_lab(lab.spec))
    return [getattr(outcome, "message", repr(outcome)) for outcome in outcomes]


def test_the_deployability_rule_finds_a_controller_behind_every_ingress(lab):
    assert dep_005_messages(lab) == []


def test_the_deployability_rule_flags_a_provided_controller_outside_the_plan(variant, onprem):
    settings = onprem.spec.ingress.model_dump(exclude={"source_ranges", "replicas", "resources"})
    ingress = IngressSpec.model_validate(
        {**settings, "controller": "provided", "class_name": "haproxy", "controller_namespace": "haproxy-controller"}
    )
    messages = dep_005_messages(variant("onprem", ingress=ingress))
    assert len(messages) == 2 and all("'haproxy'" in message for message in messages), messages
