"""MLflow on AWS checks RDS's certificate: the CA bundle as a ConfigMap, mounted where the URI's sslrootcert points."""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

from tests.infra.k8s.conftest import SECRETS, Lab, example_spec

from ailab.infra.aws.database import rds_ca_bundle
from ailab.infra.contracts import DATABASE_CA_FILE
from ailab.infra.k8s import meta
from ailab.plan.runner import run_program


def _platform(bundle: str | None) -> Lab:
    spec = example_spec("aws-eu")
    storage = dataclasses.replace(SECRETS.aws_storage(), database_ca_bundle=bundle)

    def program() -> None:
        from ailab.infra.k8s.platform import LabPlatform, LabPlatformArgs

        LabPlatform("ailab-platform", LabPlatformArgs(spec=spec, external_storage=storage, volume_key_arn=None))

    return Lab(spec, run_program(program, project="ailab", stack="test", kind="lab"))


def test_the_bundle_is_mounted_where_the_uri_points() -> None:
    bundle = rds_ca_bundle("eu-central-1")
    lab = _platform(bundle)
    config_map = lab.one("kubernetes:core/v1:ConfigMap", "mlflow-database-ca", "ailab-mlflow")
    assert config_map["data"] == {PurePosixPath(DATABASE_CA_FILE).name: bundle}
    deployment = lab.one("kubernetes:apps/v1:Deployment", "mlflow", "ailab-mlflow")
    pod = deployment["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "database-ca"]
    assert volume["configMap"]["name"] == "mlflow-database-ca"
    container = lab.container("Deployment", "mlflow")
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "database-ca"]
    assert mount == {"name": "database-ca", "mountPath": str(PurePosixPath(DATABASE_CA_FILE).parent), "readOnly": True}


def test_a_new_bundle_rolls_the_pods() -> None:
    def checksum(lab: Lab) -> str:
        template = lab.one("kubernetes:apps/v1:Deployment", "mlflow", "ailab-mlflow")["spec"]["template"]
        return str(template["metadata"]["annotations"][meta.CONFIG_CHECKSUM])

    bundle = rds_ca_bundle("eu-central-1")
    assert checksum(_platform(bundle)) != checksum(_platform(bundle.replace("\n", "\n\n", 1)))


def test_without_an_external_database_nothing_is_mounted() -> None:
    lab = _platform(None)
    assert all(config["metadata"]["name"] != "mlflow-database-ca" for config in lab.of_type("kubernetes:core/v1:ConfigMap"))
