"""What an auditor is told to do next: every way in named, nothing secret printed."""

from __future__ import annotations

import pytest
from tests.sandbox.helpers import lab, make_spec

from ailab.sandbox.next_steps import next_steps


@pytest.mark.parametrize("stack", ["aws-eu", "onprem"])
def test_steps_name_the_namespace_expiry_and_every_service(stack):
    lab_spec = lab(stack)
    spec = make_spec(lab_spec, stack)
    text = "\n".join(line for step in next_steps(spec, lab_spec) for line in (step.title, *step.lines))
    for expected in (
        "audit-2025-017-chatbot",
        "ailab sandbox extend 2025-017-chatbot --by 1d",
        "audit/2025-017-chatbot",
        "kubectl port-forward -n audit-2025-017-chatbot deploy/workbench 8888:8888",
        "ailab sandbox destroy 2025-017-chatbot",
        "qdrant-token",
    ):
        assert expected in text, expected


def test_aws_steps_sign_in_through_the_labs_oidc_provider():
    lab_spec = lab("aws-eu")
    assert lab_spec.access.oidc is not None
    steps = {step.title.split(" (")[0]: step for step in next_steps(make_spec(lab_spec), lab_spec)}
    kubernetes = "\n".join(steps["Kubernetes access"].lines)
    assert f"--oidc-issuer-url={lab_spec.access.oidc.issuer_url}" in kubernetes
    assert f"--oidc-client-id={lab_spec.access.oidc.client_id}" in kubernetes
    assert f"aws eks update-kubeconfig --name {lab_spec.cluster.name} --region eu-central-1" in kubernetes
    assert f"https://{lab_spec.ingress.mlflow_host}" in "\n".join(steps["MLflow"].lines)


def test_without_an_ingress_the_services_are_used_from_the_workbench():
    lab_spec = lab("aws-eu").model_copy(update={"ingress": None})
    steps = {step.title: step for step in next_steps(make_spec(lab_spec), lab_spec)}
    assert "from the workbench, where MLFLOW_TRACKING_URI is set" in steps["MLflow"].lines[0]
    assert "from the workbench, where QDRANT_URL is set" in steps["Qdrant"].lines[0]


def test_created_sandboxes_point_at_their_credentials_file_and_print_no_secret():
    lab_spec = lab("aws-eu")
    outputs = {"namespace": "audit-2025-017-chatbot", "mlflowCredentials": {"alice": "s3cret-password-value"}}
    steps = next_steps(make_spec(lab_spec), lab_spec, outputs, credentials_file="/home/a/.local/share/ailab/x.json")
    text = "\n".join(line for step in steps for line in step.lines)
    assert "/home/a/.local/share/ailab/x.json (mode 0600)" in text
    assert "s3cret-password-value" not in text


def test_a_lab_ca_is_named_for_the_auditors_clients():
    lab_spec = lab("aws-eu")
    assert lab_spec.ingress is not None
    steps = {step.title: "\n".join(step.lines) for step in next_steps(make_spec(lab_spec), lab_spec)}
    assert "CERT_PATH" not in steps["MLflow"] and "SSL_CERT_FILE" not in steps["Qdrant"]  # the system store trusts it
    with_ca = lab_spec.model_copy(update={"ingress": lab_spec.ingress.model_copy(update={"ca_bundle": "certs/lab-ca.pem"})})
    steps = {step.title: "\n".join(step.lines) for step in next_steps(make_spec(with_ca), with_ca)}
    assert "MLFLOW_TRACKING_SERVER_CERT_PATH=<the lab CA's PEM file>" in steps["MLflow"]
    assert "SSL_CERT_FILE=<the lab CA's PEM file>" in steps["Qdrant"] and "REQUESTS_CA_BUNDLE" in steps["Qdrant"]
    assert "certs/lab-ca.pem" in steps["MLflow"] and "certs/lab-ca.pem" in steps["Qdrant"]
