"""Network policies: default deny both ways in every platform namespace, DNS, then only the services' flows."""

from __future__ import annotations

from ailab.infra.k8s import network
from ailab.spec import labels, naming
from ailab.spec.model import IngressSpec, OnPremSettings

SANDBOXES = {"namespaceSelector": {"matchExpressions": [{"key": labels.AUDIT_ID, "operator": "Exists"}]}}
LAB_TRAEFIK = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ailab-ingress"}},
    "podSelector": {"matchLabels": {labels.NAME: "traefik"}},
}
K3S_TRAEFIK = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {labels.NAME: "traefik"}},
}


def test_default_deny_both_ways_everywhere(lab):
    for namespace in naming.platform_namespaces(lab.spec):
        deny = lab.network_policies(namespace)["default-deny"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}


def test_every_policy_declares_both_directions(lab):
    for policy in lab.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_dns_to_kube_dns_only(lab):
    for namespace in naming.platform_namespaces(lab.spec):
        dns = lab.network_policies(namespace)["allow-dns"]
        assert dns["podSelector"] == {} and dns["ingress"] == []
        (rule,) = dns["egress"]
        assert rule["to"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ]
        assert rule["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]


def test_mlflow_is_reached_by_sandboxes_only_without_an_ingress(variant):
    lab = variant("onprem", ingress=None)
    policies = lab.network_policies(naming.mlflow_namespace(lab.spec))
    (rule,) = policies["mlflow-ingress"]["ingress"]
    assert rule["from"] == [SANDBOXES] and rule["ports"] == [{"protocol": "TCP", "port": naming.MLFLOW_PORT}]


def test_mlflow_and_qdrant_admit_the_ingress_controllers_pods_only(aws, onprem):
    for lab, controller in ((aws, LAB_TRAEFIK), (onprem, K3S_TRAEFIK)):
        (mlflow_rule,) = lab.network_policies(naming.mlflow_namespace(lab.spec))["mlflow-ingress"]["ingress"]
        (qdrant_rule,) = lab.network_policies(naming.vector_db_namespace(lab.spec))["qdrant-ingress"]["ingress"]
        for rule in (mlflow_rule, qdrant_rule):
            assert rule["from"] == [SANDBOXES, controller]
        assert {p["port"] for p in qdrant_rule["ports"]} == {naming.QDRANT_HTTP_PORT, naming.QDRANT_GRPC_PORT}


def test_onprem_database_reached_from_mlflow_only(onprem):
    policies = onprem.network_policies(naming.mlflow_namespace(onprem.spec))
    mlflow_pods = {"podSelector": {"matchLabels": {labels.NAME: "mlflow", labels.PART_OF: "ailab"}}}
    postgres_pods = {"podSelector": {"matchLabels": {labels.NAME: "postgres", labels.PART_OF: "ailab"}}}
    backup_pods = {"podSelector": {"matchLabels": {labels.NAME: "postgres-backup", labels.PART_OF: "ailab"}}}
    (into_database,) = policies["postgres-ingress"]["ingress"]
    assert into_database["from"] == [mlflow_pods, backup_pods]
    assert into_database["ports"] == [{"protocol": "TCP", "port": 5432}]
    assert policies["postgres-ingress"]["egress"] == []
    for client in ("mlflow-egress", "postgres-backup-egress"):
        (out,) = policies[client]["egress"]
        assert out["to"] == [postgres_pods] and out["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_aws_mlflow_reaches_rds_and_endpoints_in_the_vpc_only(aws):
    (rule,) = aws.network_policies(naming.mlflow_namespace(aws.spec))["mlflow-egress"]["egress"]
    assert rule["to"] == [{"ipBlock": {"cidr": str(aws.spec.aws.vpc_cidr)}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}, {"protocol": "TCP", "port": 443}]
    assert "postgres-ingress" not in aws.network_policies(naming.mlflow_namespace(aws.spec))


API_SERVER = {
    # EKS: the kubernetes Service's ClusterIP (the VPC CNI enforces before Service translation), the VPC (after it).
    "aws-eu": ["172.20.0.1/32", "10.40.0.0/16"],
    # The example's k3s server and k3s's kubernetes ClusterIP, from onprem.api_server_cidrs.
    "onprem": ["192.168.50.11/32", "10.43.0.1/32"],
}


def _api_server_rule(lab):
    policies = lab.network_policies(naming.gpu_namespace(lab.spec))
    assert set(policies) == {"default-deny", "allow-dns", "allow-api-server"}
    (rule,) = policies["allow-api-server"]["egress"]
    return rule


def test_gpu_operator_reaches_the_api_server_only(lab):
    rule = _api_server_rule(lab)
    assert {p["port"] for p in rule["ports"]} == set(network.API_SERVER_PORTS) == {443, 6443}
    stack = "aws-eu" if lab.spec.target == "aws" else "onprem"
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"]] == API_SERVER[stack]


def test_aws_api_server_address_follows_the_clusters_service_network(variant):
    from ipaddress import IPv4Network

    from tests.infra.k8s.conftest import example_spec

    aws = example_spec("aws-eu").aws.model_copy(update={"vpc_cidr": IPv4Network("172.20.0.0/16")})
    lab = variant("aws-eu", aws=aws.model_dump())
    assert [peer["ipBlock"]["cidr"] for peer in _api_server_rule(lab)["to"]] == ["10.100.0.1/32", "172.20.0.0/16"]


def test_onprem_api_server_networks_default_to_rfc1918(variant):
    lab = variant("onprem", onprem={"api_server_cidrs": OnPremSettings(kubeconfig_context="x").api_server_cidrs})
    assert [peer["ipBlock"]["cidr"] for peer in _api_server_rule(lab)["to"]] == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def test_provided_controller_namespace_from_the_spec(variant, onprem):
    """Without pod labels, every pod of a provided controller's namespace is admitted."""
    settings = {**onprem.spec.ingress.model_dump(exclude={"source_ranges", "replicas", "resources"}), "controller": "provided"}
    ingress = IngressSpec.model_validate({**settings, "class_name": "internal", "controller_namespace": "ingress-internal"})
    lab = variant("onprem", ingress=ingress)
    controller = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-internal"}}}
    (mlflow_rule,) = lab.network_policies(naming.mlflow_namespace(lab.spec))["mlflow-ingress"]["ingress"]
    (qdrant_rule,) = lab.network_policies(naming.vector_db_namespace(lab.spec))["qdrant-ingress"]["ingress"]
    assert mlflow_rule["from"] == qdrant_rule["from"] == [SANDBOXES, controller]


def test_no_policy_admits_the_world(lab):
    for policy in lab.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in policy["spec"][direction]:
                assert rule.get(key), f"{policy['metadata']['name']}: a rule without peers admits everyone"
                assert all(peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0" for peer in rule[key])
