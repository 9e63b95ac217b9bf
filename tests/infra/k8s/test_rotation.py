"""Rotated credentials reach running pods: each workload's pod template carries a digest of the Secret data it reads."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ailab.infra.k8s.meta import CONFIG_CHECKSUM
from ailab.spec import naming

from .conftest import example_spec, plan_lab

DEPLOYMENT, STATEFUL_SET = "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"
WORKLOADS = {"mlflow": DEPLOYMENT, "qdrant": STATEFUL_SET, "postgres": STATEFUL_SET}
"""The workloads that read credentials; PostgreSQL runs on-premises only (RDS on AWS)."""


def _checksums(lab) -> dict[str, str]:
    names = [name for name in WORKLOADS if lab.spec.target == "onprem" or name != "postgres"]
    return {
        name: lab.one(WORKLOADS[name], name)["spec"]["template"]["metadata"]["annotations"][CONFIG_CHECKSUM] for name in names
    }


def test_every_credentialed_workload_carries_a_readable_checksum(lab):
    checksums = _checksums(lab)
    assert len(checksums) == (3 if lab.spec.target == "onprem" else 2)
    assert all(len(value) == 64 and int(value, 16) >= 0 for value in checksums.values())


@pytest.mark.parametrize(
    ("section", "field", "rolled"),
    [
        ("database", "password", {"mlflow", "postgres"}),
        ("mlflow", "admin_password", {"mlflow"}),
        ("vector_db", "api_key", {"qdrant"}),
    ],
)
def test_a_changed_credential_rolls_exactly_the_pods_that_read_it(section, field, rolled):
    spec = example_spec("onprem")
    before = _checksums(plan_lab(spec))
    if section == "database":
        changed = spec.model_copy(
            update={
                "mlflow": spec.mlflow.model_copy(
                    update={"database": spec.mlflow.database.model_copy(update={field: SecretStr("rotated-" * 4)})}
                )
            }
        )
    else:
        owner = getattr(spec, section)
        changed = spec.model_copy(update={section: owner.model_copy(update={field: SecretStr("rotated-" * 4)})})
    after = _checksums(plan_lab(changed))
    assert {name for name in before if before[name] != after[name]} == rolled


def test_the_database_applies_a_rotated_password_on_start(onprem):
    database = onprem.one(STATEFUL_SET, "postgres")
    (container,) = database["spec"]["template"]["spec"]["containers"]
    command = container["lifecycle"]["postStart"]["exec"]["command"]
    assert command[:2] == ["/bin/sh", "-c"] and "ALTER ROLE mlflow PASSWORD :'new_password'" in command[2]
    assert "\\getenv new_password POSTGRES_PASSWORD" in command[2]
    assert naming.mlflow_namespace(onprem.spec) == database["metadata"]["namespace"]
