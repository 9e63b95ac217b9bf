"""Where the lab's default trail copies to and who timestamps it, from the environment.

``AILAB_TRAIL_STORE``
    ``s3://bucket/prefix`` (AWS, or any S3-compatible store with Object Lock through
    ``AILAB_TRAIL_S3_ENDPOINT``) or a directory; unset: no copy (the embedded default).
``AILAB_TRAIL_RETENTION_DAYS``
    the Object Lock COMPLIANCE retention of each copy (default 3650).
``AILAB_TRAIL_KMS_KEY``
    the KMS key for SSE-KMS of the copies (the evidence bucket's key).
``AILAB_TRAIL_SIGNING_KEY``
    an AWS KMS key (id, ARN or alias) that signs checkpoints instead of the local key file.
``AILAB_TRAIL_TSA_URL``
    an RFC 3161 time-stamping authority; unset: checkpoints are not timestamped.

On AWS the lab stack exports ``evidenceBucket`` and ``trailSigningKey`` (from the spec's
``evidence`` section: retention, signers' role); operators set ``AILAB_TRAIL_STORE=s3://<evidenceBucket>/trail``,
``AILAB_TRAIL_SIGNING_KEY=<trailSigningKey>``, ``AILAB_TRAIL_RETENTION_DAYS`` and ``AILAB_TRAIL_TSA_URL``
from the stack outputs and the spec (docs/audit-trail.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from ailab.errors import BadInputError
from ailab.trail.log import Timestamper
from ailab.trail.signer import KmsSigner, Signer
from ailab.trail.store import DirectoryStore, ObjectStore, S3Store


def signer_from_environment() -> Signer | None:
    key = os.environ.get("AILAB_TRAIL_SIGNING_KEY", "").strip()
    return KmsSigner(key) if key else None


def store_from_environment() -> ObjectStore | None:
    where = os.environ.get("AILAB_TRAIL_STORE", "").strip()
    if not where:
        return None
    if not where.startswith("s3://"):
        return DirectoryStore(Path(where).expanduser())
    bucket, _, prefix = where.removeprefix("s3://").partition("/")
    if not bucket:
        raise BadInputError(f"AILAB_TRAIL_STORE={where}: no bucket; use s3://<bucket>/<prefix>")
    days_text = os.environ.get("AILAB_TRAIL_RETENTION_DAYS", "3650")
    if not days_text.isdigit() or not 1 <= int(days_text) <= 36500:
        raise BadInputError(f"AILAB_TRAIL_RETENTION_DAYS={days_text}: use a whole number of days from 1 to 36500")
    return S3Store(
        bucket,
        prefix=prefix.rstrip("/") + "/" if prefix else "",
        retention_days=int(days_text),
        kms_key_id=os.environ.get("AILAB_TRAIL_KMS_KEY") or None,
        endpoint_url=os.environ.get("AILAB_TRAIL_S3_ENDPOINT") or None,
    )


def timestamper_from_environment() -> Timestamper | None:
    url = os.environ.get("AILAB_TRAIL_TSA_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise BadInputError(f"AILAB_TRAIL_TSA_URL={url}: use the http(s) URL of an RFC 3161 time-stamping authority")
    from ailab.trail.tsa import HttpTimestamper

    return HttpTimestamper(url)
