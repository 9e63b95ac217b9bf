"""Platform settings the spec gained from the components' defaults: their defaults, checks and secrets."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Network
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from ailab.errors import BadInputError
from ailab.spec import load_stack_spec
from ailab.spec.model import AwsSettings, IngressSpec, MlflowDatabase, MlflowSpec, OnPremSettings, Resources
from ailab.spec.stackfile import Project

VIA_TGW = {"kind": "transit_gateway", "transit_gateway_id": "tgw-0a1b2c3d4e5f60718", "networks": ["10.200.0.0/24"]}


def test_defaults_are_what_the_platform_used_before():
    # The ingress-nginx defaults are gone (retired upstream): the default is the Traefik the lab installs.
    ingress = IngressSpec(
        tls_secret_name="tls", mlflow_host="m.example", qdrant_host="q.example", source_ranges=[IPv4Network("10.200.0.0/24")]
    )
    assert (ingress.controller, ingress.ingress_class, ingress.controller_namespace) == ("traefik", "traefik", None)
    onprem = OnPremSettings(kubeconfig_context="lab")
    assert onprem.api_server_cidrs == [IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16")]
    database = MlflowDatabase(password=SecretStr("p" * 16))
    assert database.resources == Resources(cpu="500m", memory="1Gi")
    assert database.backup_storage_size is None  # the platform then sizes the backups like the database
    mlflow = MlflowSpec(admin_password=SecretStr("a" * 16), database=database)
    assert mlflow.flask_secret_key is None and mlflow.image == "ghcr.io/mlflow/mlflow:v3.17.2-full"
    assert AwsSettings(region="eu-central-1", api_access=VIA_TGW).deployer_role_arn is None


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        ([], "at least 1 item"),  # an egress rule with no peers would admit every destination
        (["0.0.0.0/0"], "0.0.0.0/0 is too wide for the API server"),
        (["10.0.0.0/7"], "10.0.0.0/7 is too wide"),
        (["192.168.50.300/32"], "valid IPv4 network"),
    ],
)
def test_api_server_networks_are_checked(networks, message):
    with pytest.raises(ValidationError, match=message):
        OnPremSettings(kubeconfig_context="lab", api_server_cidrs=networks)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/ailab-deployer",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-central-1/AWSReservedSSO_Admin_0123abcd",
        "arn:aws-eusc:iam::123456789012:role/deployer",
    ],
)
def test_deployer_roles_with_paths_and_partitions(arn):
    assert AwsSettings(region="eu-central-1", api_access=VIA_TGW, deployer_role_arn=arn).deployer_role_arn == arn


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:user/alice",  # a role, not a person's long-lived user
        "arn:aws:sts::123456789012:assumed-role/ailab-deployer/ci",  # a session: EKS refuses access entries for it
        "arn:aws:iam::12345:role/short-account",
    ],
)
def test_deployer_must_be_an_iam_role(arn):
    with pytest.raises(ValidationError, match="deployer_role_arn"):
        AwsSettings(region="eu-central-1", api_access=VIA_TGW, deployer_role_arn=arn)


def test_a_short_flask_secret_key_is_refused():
    database = MlflowDatabase(password=SecretStr("p" * 16))
    with pytest.raises(ValidationError, match="a Flask secret key must be at least 32 characters"):
        MlflowSpec(admin_password=SecretStr("a" * 16), database=database, flask_secret_key=SecretStr("too-short"))
    key = "k" * 32
    assert MlflowSpec(admin_password=SecretStr("a" * 16), database=database, flask_secret_key=SecretStr(key)).flask_secret_key


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/mlflow/mlflow:v3.17.2-full",
        "ghcr.io/mlflow/mlflow:v3.17.2-full@sha256:" + "0" * 64,
        "registry.example.eu/ailab/mlflow:v3.17.2-ailab1",  # a build of one's own (docs/mlflow-image.md)
    ],
)
def test_images_that_can_run_the_server(image):
    database = MlflowDatabase(password=SecretStr("p" * 16))
    assert MlflowSpec(admin_password=SecretStr("a" * 16), database=database, image=image).image == image


def test_a_flask_secret_key_in_plain_text_is_refused(project: Project, write_stack: Callable[[str, str], Path], aws_text: str):
    text = aws_text.replace(
        "      admin_username: admin\n", "      admin_username: admin\n      flask_secret_key: " + "k" * 40 + "\n"
    )
    write_stack("plain-key", text)
    with pytest.raises(
        BadInputError, match=r"lab\.mlflow\.flask_secret_key: secret in plain text; encrypt it with pulumi config set"
    ):
        load_stack_spec("plain-key", project)
