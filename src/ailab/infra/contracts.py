"""What the AWS layer hands the platform layer. Kept apart so neither imports the other."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ExternalMlflowStorage:
    """MLflow's stores when the cloud provides them (AWS: RDS PostgreSQL and an S3 bucket).

    On-premises there is none: the platform layer runs PostgreSQL and a volume in the cluster.
    """

    backend_store_uri: pulumi.Output[str]
    """``postgresql://...`` with the password: always a secret Output."""
    artifacts_destination: pulumi.Input[str]
    """``s3://bucket/artifacts``."""
    service_account_annotations: Mapping[str, pulumi.Input[str]]
    """Annotations for MLflow's ServiceAccount, e.g. the IRSA role ARN."""
