"""Plans of the platform layer for the example stacks (and variants), shared by the tests of this folder.

Each plan runs ``LabPlatform`` alone under the SDK's mock monitor through
:func:`ailab.plan.runner.run_program`; a plan takes a second or two, so the example stacks' plans
are built once per session. Tests reach the helpers through the :class:`Lab` a fixture returns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pydantic import BaseModel, SecretStr

from ailab.infra.contracts import ExternalMlflowStorage
from ailab.plan.graph import Plan, PlannedResource
from ailab.plan.runner import run_program
from ailab.spec import LabSpec, find_project, load_stack_spec

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Secrets:
    """Distinctive secrets, so a test can search a plan for them and for what is derived from them."""

    admin_password: str = "admin-Pa55%word/with:odd@chars"
    database_password: str = "db-Pa55word-0123456789-abcdef"
    qdrant_api_key: str = "qdrant-api-key-0123456789abcdef0123456789"
    rds_uri: str = "postgresql://mlflow:rds-Pa55word-0123456789@ailab-mlflow.abc.eu-central-1.rds.amazonaws.com:5432/mlflow"
    artifacts: str = "s3://ailab-artifacts-0123456/artifacts"
    role_arn: str = "arn:aws:iam::123456789012:role/ailab-mlflow"
    s3_endpoint: str = "https://bucket.vpce-0123456789abcdef0.s3.eu-central-1.vpce.amazonaws.com"

    def apply_to(self, spec: LabSpec) -> LabSpec:
        mlflow = spec.mlflow.model_copy(
            update={
                "admin_password": SecretStr(self.admin_password),
                "database": spec.mlflow.database.model_copy(update={"password": SecretStr(self.database_password)}),
            }
        )
        vector_db = spec.vector_db.model_copy(update={"api_key": SecretStr(self.qdrant_api_key)})
        return spec.model_copy(update={"mlflow": mlflow, "vector_db": vector_db})

    def aws_storage(self) -> ExternalMlflowStorage:
        return ExternalMlflowStorage(
            backend_store_uri=pulumi.Output.secret(self.rds_uri),
            artifacts_destination=self.artifacts,
            service_account_annotations={"eks.amazonaws.com/role-arn": self.role_arn},
            s3_endpoint_url=self.s3_endpoint,
        )


SECRETS = Secrets()


@dataclass(frozen=True)
class Lab:
    """A spec and the plan of its platform layer, with lookups into the plan."""

    spec: LabSpec
    plan: Plan

    def objects(self) -> Iterator[PlannedResource]:
        """The Kubernetes API objects (not the Helm release, not components)."""
        return (r for r in self.plan.resources if r.type.startswith("kubernetes:") and r.inputs.get("apiVersion"))

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r.inputs for r in self.plan.of_type(type_token)]

    def one(self, type_token: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """The inputs of the single object of ``type_token`` named ``name`` (in ``namespace``)."""
        found = [
            inputs
            for inputs in self.of_type(type_token)
            if inputs["metadata"].get("name") == name and namespace in (None, inputs["metadata"].get("namespace"))
        ]
        assert len(found) == 1, f"{len(found)} {type_token} named {name} in {namespace}"
        return found[0]

    def pod_specs(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(workload name, pod spec)`` of every Deployment, StatefulSet and CronJob."""
        for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"):
            for inputs in self.of_type(kind):
                yield inputs["metadata"]["name"], inputs["spec"]["template"]["spec"]
        for inputs in self.of_type("kubernetes:batch/v1:CronJob"):
            yield inputs["metadata"]["name"], inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    def container(self, kind: str, name: str) -> dict[str, Any]:
        """The only container of workload ``name`` (``Deployment`` or ``StatefulSet``)."""
        (container,) = self.one(f"kubernetes:apps/v1:{kind}", name)["spec"]["template"]["spec"]["containers"]
        return container

    def network_policies(self, namespace: str) -> dict[str, dict[str, Any]]:
        return {
            p["metadata"]["name"]: p["spec"]
            for p in self.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
            if p["metadata"]["namespace"] == namespace
        }


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """A container's environment: name to literal value, or to its ``valueFrom``."""
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def plan_lab(spec: LabSpec, volume_key_arn: str | None = None) -> Lab:
    """Run the platform layer alone for ``spec`` (an AWS spec gets fake RDS/S3 storage)."""

    def program() -> None:
        from ailab.infra.k8s.platform import LabPlatform, LabPlatformArgs

        storage = SECRETS.aws_storage() if spec.target == "aws" else None
        LabPlatform("ailab-platform", LabPlatformArgs(spec=spec, external_storage=storage, volume_key_arn=volume_key_arn))

    return Lab(spec, run_program(program, project="ailab", stack="test", kind="lab"))


def example_spec(stack: str) -> LabSpec:
    return SECRETS.apply_to(load_stack_spec(stack, find_project(REPO))[0])


@pytest.fixture(scope="session")
def secrets() -> Secrets:
    return SECRETS


@pytest.fixture(scope="session")
def env() -> Callable[[dict[str, Any]], dict[str, Any]]:
    return env_of


@pytest.fixture(scope="session")
def onprem() -> Lab:
    return plan_lab(example_spec("onprem"))


@pytest.fixture(scope="session")
def aws() -> Lab:
    return plan_lab(example_spec("aws-eu"))


@pytest.fixture(scope="session", params=["onprem", "aws-eu"])
def lab(request: pytest.FixtureRequest, onprem: Lab, aws: Lab) -> Lab:
    """Each example stack's platform in turn."""
    return onprem if request.param == "onprem" else aws


@pytest.fixture(scope="session")
def variant() -> Callable[..., Lab]:
    """``variant("onprem", vector_db={"replicas": 3})``: an example spec with sections updated, planned.

    A section may also be replaced by a validated model, or removed with None.

    ``volume_key_arn`` is passed to the platform as the AWS layer would.
    """

    def make(stack: str, volume_key_arn: str | None = None, **sections: dict[str, Any] | BaseModel | None) -> Lab:
        spec = example_spec(stack)
        updates = {
            name: values if values is None or isinstance(values, BaseModel) else getattr(spec, name).model_copy(update=values)
            for name, values in sections.items()
        }
        return plan_lab(spec.model_copy(update=updates), volume_key_arn)

    return make
