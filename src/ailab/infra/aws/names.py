"""Physical names of AWS resources that must be known before the resources exist.

EKS and RDS write their logs to log groups with fixed names; creating those groups first
(encrypted, with bounded retention) and scoping the logs key policy to them both need the names
up front, so they are derived here from the spec, in one place.
"""

from __future__ import annotations

from ailab.spec.model import LabSpec

DB_LOG_EXPORTS: tuple[str, ...] = ("postgresql", "upgrade")
"""PostgreSQL log types RDS exports to CloudWatch Logs."""


def db_identifier(spec: LabSpec) -> str:
    """The RDS instance identifier of MLflow's backend store."""
    return f"{spec.name}-mlflow"


def eks_log_group(spec: LabSpec) -> str:
    """The log group EKS writes control-plane logs to (the name EKS mandates)."""
    return f"/aws/eks/{spec.cluster.name}/cluster"


def flow_log_group(spec: LabSpec) -> str:
    return f"/aws/vpc/{spec.name}/flow-logs"


def db_log_group(spec: LabSpec, export: str) -> str:
    """The log group RDS writes the ``export`` log type to (the name RDS mandates)."""
    return f"/aws/rds/instance/{db_identifier(spec)}/{export}"


def log_groups(spec: LabSpec) -> list[str]:
    """Every log group of the lab: the ones the logs key may encrypt."""
    return [flow_log_group(spec), eks_log_group(spec), *(db_log_group(spec, export) for export in DB_LOG_EXPORTS)]
