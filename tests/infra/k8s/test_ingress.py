"""The optional ingress: TLS, class and annotations from the spec; absent without spec.ingress."""

from __future__ import annotations

from ailab.spec import naming

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def test_aws_example_exposes_mlflow_and_qdrant_over_tls(aws):
    settings = aws.spec.ingress
    routes = {
        "mlflow": (naming.mlflow_namespace(aws.spec), settings.mlflow_host, naming.MLFLOW_PORT),
        "qdrant": (naming.vector_db_namespace(aws.spec), settings.qdrant_host, naming.QDRANT_HTTP_PORT),
    }
    for service, (namespace, host, port) in routes.items():
        ingress = aws.one(INGRESS, service, namespace)
        spec = ingress["spec"]
        assert spec["ingressClassName"] == settings.class_name
        assert spec["tls"] == [{"hosts": [host], "secretName": settings.tls_secret_name}]
        (rule,) = spec["rules"]
        assert rule["host"] == host
        assert rule["http"]["paths"][0]["backend"] == {"service": {"name": service, "port": {"number": port}}}
        assert settings.annotations.items() <= ingress["metadata"]["annotations"].items()


def test_no_ingress_without_the_section(onprem):
    assert onprem.spec.ingress is None
    assert not onprem.of_type(INGRESS)
