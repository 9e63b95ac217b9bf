"""Write-once copies of the trail out of the writer's reach: a directory, or S3 with Object Lock.

Each signed checkpoint and the records it newly covers are copied as objects
``<prefix>records/<seq>.json`` and ``<prefix>checkpoints/<size>.json``, each written only if absent
(``If-None-Match: *`` on S3) and, on S3, under an Object Lock COMPLIANCE retention that nobody, the
account root included, can shorten or lift. The same code serves AWS and any S3-compatible store with
Object Lock on-prem (``endpoint_url``). :meth:`ObjectStore.first` reads the oldest version of a key,
so a new version written over a locked one changes nothing a verifier sees.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ailab.errors import OperationFailedError

MAX_OBJECT = 2 * 1024 * 1024


class ObjectStore(Protocol):
    """Where the trail's copies go; ``describe`` names it in messages."""

    def describe(self) -> str: ...

    def put_once(self, key: str, data: bytes) -> bytes | None:
        """Write ``data`` at ``key`` unless it exists; return what was already there (None when written)."""
        ...

    def first(self, key: str) -> bytes | None: ...

    def keys(self, prefix: str) -> list[str]: ...


class DirectoryStore:
    """A local or mounted directory (files created exclusively, then read-only)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def put_once(self, key: str, data: bytes) -> bytes | None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        except FileExistsError:
            return self.first(key)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        return None

    def first(self, key: str) -> bytes | None:
        path = self.root / key
        if not path.is_file():
            return None
        with path.open("rb") as stream:
            return stream.read(MAX_OBJECT)

    def keys(self, prefix: str) -> list[str]:
        folder = self.root / prefix
        return sorted(f"{prefix}{p.name}" for p in folder.iterdir()) if folder.is_dir() else []


class S3Store:
    """A bucket with Object Lock: every object written once, under COMPLIANCE retention, SSE-KMS when a key is given."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        retention_days: int = 3650,
        kms_key_id: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.retention_days = retention_days
        self.kms_key_id = kms_key_id
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, config=Config(retries={"mode": "standard"}))
        self.client = client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _call(self, operation: str, **arguments: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "NoSuchKey", "404"):
                return code
            raise OperationFailedError(f"{self.describe()}: {operation} failed ({code or error})") from None
        except BotoCoreError as error:
            raise OperationFailedError(f"{self.describe()}: unreachable ({error})") from None

    def put_once(self, key: str, data: bytes) -> bytes | None:
        extra: dict[str, Any] = {}
        if self.kms_key_id:
            extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        answer = self._call(
            "put_object",
            Key=self.prefix + key,
            Body=data,
            IfNoneMatch="*",
            ChecksumAlgorithm="SHA256",
            ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=self.retention_days),
            **extra,
        )
        return self.first(key) if answer == "PreconditionFailed" else None

    def first(self, key: str) -> bytes | None:
        listed = self._call("list_object_versions", Prefix=self.prefix + key)
        versions = [v for v in listed.get("Versions", []) if v["Key"] == self.prefix + key] if isinstance(listed, dict) else []
        if not versions:
            return None
        oldest = min(versions, key=lambda v: v["LastModified"])
        answer = self._call("get_object", Key=self.prefix + key, VersionId=oldest["VersionId"])
        if not isinstance(answer, dict):
            return None
        body: bytes = answer["Body"].read(MAX_OBJECT)
        return body

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        token: str | None = None
        while True:
            page = self._call("list_objects_v2", Prefix=self.prefix + prefix, **({"ContinuationToken": token} if token else {}))
            found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(found)
