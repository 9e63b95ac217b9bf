"""The ``evidence`` section of the lab spec: where the audit trail is copied, for how long, who timestamps it."""

from __future__ import annotations

from pydantic import Field

from ailab.spec.sections.common import StrictModel

ARN_ROLE = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$"
HTTP_URL = r"^https?://[^\s/$.?#][^\s]*$"
S3_URL = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$"
"""``s3://bucket/prefix`` of a trail store (an S3 bucket name, an optional prefix)."""


class EvidenceSpec(StrictModel):
    """The audit trail's write-once store, signing key and timestamps (docs/audit-trail.md)."""

    retention_days: int = Field(
        default=3650,
        ge=1,
        le=36500,
        description="Object Lock COMPLIANCE retention of every trail copy, in days: nobody, the account root included, "
        "can delete a copy or shorten this before it passes.",
    )
    tsa_url: str | None = Field(
        default=None,
        pattern=HTTP_URL,
        description="URL of an RFC 3161 time-stamping authority (a qualified one under eIDAS for legal weight); "
        "every checkpoint is timestamped. Without it, checkpoints carry no timestamp.",
    )
    signers_role_arn: str | None = Field(
        default=None,
        pattern=ARN_ROLE,
        description="AWS: the operators' IAM role, the only principal allowed kms:Sign with the trail's key besides the "
        "in-cluster reaper's role. Without it no operator may sign with the KMS key and their trail keeps its local key.",
    )
    store_url: str | None = Field(
        default=None,
        pattern=S3_URL,
        description="On-prem: s3://bucket/prefix of an S3-compatible store with Object Lock. "
        "On AWS the lab creates the evidence bucket and this stays unset.",
    )
    store_endpoint: str | None = Field(
        default=None, pattern=HTTP_URL, description="On-prem: the endpoint URL of the S3-compatible store."
    )
