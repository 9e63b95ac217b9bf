"""The example stacks are valid and say what the README says they say."""

from __future__ import annotations

from ailab.spec import load_stack_spec
from ailab.spec.model import MigSharing, TimeSlicingSharing
from ailab.spec.regions import is_eu_region
from ailab.spec.stackfile import SECRET_PLACEHOLDER, Project


def test_aws_example_is_an_eu_lab_with_gpu_pools(project: Project) -> None:
    spec, stack = load_stack_spec("aws-eu", project)
    assert spec.target == "aws"
    assert spec.aws is not None and is_eu_region(spec.aws.region)
    assert {pool.name for pool in spec.gpu_pools} == {"h100", "l4"}
    assert isinstance(spec.gpu_pools[0].sharing, MigSharing)
    assert isinstance(spec.gpu_pools[1].sharing, TimeSlicingSharing)
    assert spec.mlflow.default_permission == "NO_PERMISSIONS"
    assert spec.vector_db.jwt_rbac is True
    assert stack.secret_keys == {"ailab:lab"}


def test_onprem_example_has_no_aws_settings(project: Project) -> None:
    spec, _ = load_stack_spec("onprem", project)
    assert spec.target == "onprem"
    assert spec.aws is None and spec.onprem is not None
    assert all(not pool.instance_types for _, pool in spec.pools())


def test_secure_values_are_read_without_the_passphrase(project: Project) -> None:
    spec, stack = load_stack_spec("aws-eu", project)
    assert spec.mlflow.admin_password.get_secret_value() == SECRET_PLACEHOLDER
    assert ("ailab:lab", "vector_db", "api_key") in stack.secret_paths
    assert "v1:" not in repr(spec)


def _locked_version(package: str) -> str:
    """The version uv.lock pins for ``package`` (the MLflow client ailab tests against)."""
    import tomllib
    from pathlib import Path

    lock = tomllib.loads((Path(__file__).resolve().parents[2] / "uv.lock").read_text(encoding="utf-8"))
    return next(entry["version"] for entry in lock["package"] if entry["name"] == package)


def test_deployed_mlflow_matches_the_tested_client(project: Project) -> None:
    """ailab.services.mlflow speaks the auth REST routes of the locked MLflow; the lab must run that release.

    In its -full variant: the plain image lacks the auth app's Flask-WTF, the PostgreSQL drivers and boto3 (docs/mlflow-image.md).
    """
    from ailab.spec.model import OFFICIAL_MLFLOW_IMAGE, MlflowSpec

    expected = f"{OFFICIAL_MLFLOW_IMAGE}:v{_locked_version('mlflow')}-full"
    assert MlflowSpec.model_fields["image"].default == expected
    for stack in ("aws-eu", "onprem"):
        spec, _ = load_stack_spec(stack, project)
        assert spec.mlflow.image == expected, stack
