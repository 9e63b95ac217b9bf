"""MLflow: the basic-auth app, its auth config, server-side execution off, backend and artifacts per target."""

from __future__ import annotations

import ast
import configparser
import importlib.util
import re
from pathlib import Path

import pytest

from ailab.errors import BadInputError
from ailab.infra.k8s import mlflow
from ailab.spec import naming

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def test_always_the_basic_auth_app(lab):
    container = lab.container("Deployment", "mlflow")
    assert container["command"] == ["mlflow"]
    args = container["args"]
    assert args[:3] == ["server", "--app-name", "basic-auth"]
    assert "--serve-artifacts" in args
    assert container["image"] == lab.spec.mlflow.image


def test_auth_config_and_secrets_come_from_the_config_secret(lab, env):
    variables = env(lab.container("Deployment", "mlflow"))
    assert variables["MLFLOW_AUTH_CONFIG_PATH"] == "/etc/mlflow/basic_auth.ini"
    assert variables["MLFLOW_BACKEND_STORE_URI"] == {"secretKeyRef": {"name": "mlflow-config", "key": "backend-store-uri"}}
    assert variables["MLFLOW_FLASK_SERVER_SECRET_KEY"] == {"secretKeyRef": {"name": "mlflow-config", "key": "flask-secret-key"}}
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" not in variables
    pod = lab.one(DEPLOYMENT, "mlflow")["spec"]["template"]["spec"]
    (config,) = [v for v in pod["volumes"] if v["name"] == "auth-config"]
    assert config["secret"]["secretName"] == "mlflow-config"
    assert config["secret"]["items"] == [
        {"key": "basic_auth.ini", "path": "basic_auth.ini"},
        {"key": "ailab_mlflow_auth.py", "path": "ailab_mlflow_auth.py"},
    ]
    assert variables["PYTHONPATH"] == "/etc/mlflow", "the authorization function is imported from the mounted file"


def test_the_authorization_function_is_shipped_standalone():
    """The Secret carries the file as it is (the plan hides a Secret's data); inside the server there is no ailab."""
    source = mlflow.auth_module_source()
    assert "def authenticate_request()" in source
    assert mlflow.AUTHORIZATION_FUNCTION == "ailab_mlflow_auth:authenticate_request"
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported, "the imports were found"
    assert not [name for name in imported if name and name.split(".")[0] == "ailab"], "the server has no ailab to import"


def test_server_side_execution_and_gateway_are_off(lab, env):
    variables = env(lab.container("Deployment", "mlflow"))
    assert variables["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert variables["MLFLOW_SERVER_ENABLE_CUSTOM_SCORERS"] == "false"
    assert variables["MLFLOW_ENABLE_AI_GATEWAY"] == "false"
    assert variables["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_settings_are_names_mlflow_reads():
    """Guards against typos: every MLflow setting ailab pins is one the installed MLflow defines.

    The module is read as text: importing MLflow takes seconds.
    """
    package = importlib.util.find_spec("mlflow")
    assert package is not None and package.submodule_search_locations
    source = (Path(package.submodule_search_locations[0]) / "environment_variables.py").read_text(encoding="utf-8")
    defined = set(re.findall(r'EnvironmentVariable\(\s*"([A-Z_]+)"', source))
    pinned = {name for name in mlflow.SERVER_SETTINGS if name.startswith("MLFLOW_")}
    assert pinned | {"MLFLOW_AUTH_CONFIG_PATH", "MLFLOW_SERVER_ALLOWED_HOSTS", "MLFLOW_FLASK_SERVER_SECRET_KEY"} <= defined


def test_allowed_hosts_cover_the_in_cluster_url_and_the_ingress(aws, env):
    hosts = env(aws.container("Deployment", "mlflow"))["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert naming.mlflow_url(aws.spec).removeprefix("http://") in hosts
    assert aws.spec.ingress is not None and aws.spec.ingress.mlflow_host in hosts
    assert "*" not in hosts


def test_probes_use_the_unauthenticated_health_endpoint(lab):
    container = lab.container("Deployment", "mlflow")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}


@pytest.fixture
def parsed_config(onprem, secrets):
    text = mlflow.auth_config(onprem.spec, "postgresql://mlflow:p%40ss@db:5432/mlflow")
    parser = configparser.ConfigParser()  # what MLflow uses, interpolation included
    parser.read_string(text)
    return parser["mlflow"]


def test_auth_config_denies_by_default_and_survives_interpolation(parsed_config, secrets):
    assert parsed_config["default_permission"] == "NO_PERMISSIONS"
    assert parsed_config["database_uri"] == "postgresql://mlflow:p%40ss@db:5432/mlflow"
    assert parsed_config["admin_username"] == "admin"
    assert parsed_config["admin_password"] == secrets.admin_password  # has a '%' of its own
    assert parsed_config["authorization_function"] == mlflow.AUTHORIZATION_FUNCTION


def test_auth_config_refuses_multi_line_values(onprem):
    with pytest.raises(BadInputError, match="database_uri must be one line"):
        mlflow.auth_config(onprem.spec, "postgresql://x\n[evil]")


def test_onprem_uses_the_cluster_database_and_a_volume(onprem):
    deployment = onprem.one(DEPLOYMENT, "mlflow")["spec"]
    container = deployment["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["--artifacts-destination", "/mlartifacts"]
    assert {"name": "artifacts", "mountPath": "/mlartifacts"} in container["volumeMounts"]
    claim = onprem.one("kubernetes:core/v1:PersistentVolumeClaim", "mlflow-artifacts", naming.mlflow_namespace(onprem.spec))
    assert claim["spec"]["storageClassName"] == onprem.spec.onprem.storage_class
    assert claim["spec"]["resources"]["requests"]["storage"] == onprem.spec.mlflow.artifacts.storage_size
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    # One replica on a ReadWriteOnce volume: a rolling update could deadlock on the attachment.
    assert deployment["strategy"] == {"type": "Recreate"}
    assert not onprem.of_type("kubernetes:policy/v1:PodDisruptionBudget")


def test_aws_uses_rds_s3_and_irsa(aws, secrets, env):
    deployment = aws.one(DEPLOYMENT, "mlflow")["spec"]
    container = deployment["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["--artifacts-destination", secrets.artifacts]
    variables = env(container)
    assert variables["AWS_REGION"] == aws.spec.region
    assert variables["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    # Artifacts through the VPC's S3 interface endpoint (the regional names stay on the gateway endpoint).
    assert variables["MLFLOW_S3_ENDPOINT_URL"] == secrets.s3_endpoint
    account = aws.one("kubernetes:core/v1:ServiceAccount", "mlflow")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == secrets.role_arn
    # IRSA's token is projected by the EKS webhook; the API token stays unmounted.
    assert deployment["template"]["spec"]["automountServiceAccountToken"] is False
    # The only claim is the reaper's trail volume (MLflow's artifacts are in S3).
    claims = aws.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert [c["metadata"]["name"] for c in claims] == ["ailab-reaper-data"]
    assert deployment["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


def test_several_replicas_get_a_disruption_budget(aws):
    assert aws.spec.mlflow.replicas == 2
    (budget,) = aws.of_type("kubernetes:policy/v1:PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"] == aws.one(DEPLOYMENT, "mlflow")["spec"]["selector"]


def test_several_onprem_replicas_share_a_read_write_many_volume(variant):
    lab = variant("onprem", mlflow={"replicas": 2})
    claim = lab.one("kubernetes:core/v1:PersistentVolumeClaim", "mlflow-artifacts")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert lab.one(DEPLOYMENT, "mlflow")["spec"]["strategy"]["type"] == "RollingUpdate"


def test_flask_secret_key_is_stable_and_not_the_password(onprem, secrets):
    key = mlflow.flask_secret_key(onprem.spec)
    assert key == mlflow.flask_secret_key(onprem.spec) and len(key) == 64
    assert secrets.admin_password not in key


def test_flask_secret_key_from_the_spec_when_set(onprem, secrets):
    from pydantic import SecretStr

    derived = mlflow.flask_secret_key(onprem.spec)
    own = "a-flask-signing-key-of-the-site-0123456789"
    spec = onprem.spec.model_copy(update={"mlflow": onprem.spec.mlflow.model_copy(update={"flask_secret_key": SecretStr(own)})})
    assert mlflow.flask_secret_key(spec) == own != derived
    other_password = onprem.spec.mlflow.model_copy(update={"admin_password": SecretStr("another-admin-password-0042")})
    assert mlflow.flask_secret_key(onprem.spec.model_copy(update={"mlflow": other_password})) != derived
