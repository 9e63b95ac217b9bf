"""The local index of sandboxes: one JSON file per sandbox under ``<data dir>/sandboxes``.

It is what ``list``, ``show`` and ``reap`` read, so they work without the Pulumi CLI or the
cluster. Each file is written atomically and only under the sandbox's lock; the Pulumi stack
(with the same spec in its config) remains the record of what is deployed.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from ailab.errors import BadInputError
from ailab.fsio import atomic_write_text
from ailab.home import sub_dir
from ailab.sandbox.request import SandboxSpec, iso


class Status(StrEnum):
    CREATING = "creating"
    """``up`` started and has not finished: run ``create`` again to finish, or ``destroy``."""
    READY = "ready"
    FAILED = "failed"
    """The last ``up`` failed; the stack may hold part of the sandbox."""
    DESTROYING = "destroying"
    DESTROY_FAILED = "destroy-failed"


class SandboxEntry(BaseModel):
    """A sandbox as this machine knows it: its spec, where it stands, what it produced."""

    model_config = ConfigDict(extra="forbid")

    spec: SandboxSpec
    status: Status
    updated_at: datetime
    outputs: dict[str, Any] = {}
    """Non-secret stack outputs (namespace, experiment, collection, URLs)."""
    credentials_file: str | None = None
    last_error: str | None = None

    @field_serializer("updated_at")
    def _moment(self, value: datetime) -> str:
        return iso(value)

    def display_status(self, now: datetime) -> str:
        """The status, with ``expired`` for a ready sandbox past its expiry (the reaper's next target)."""
        if self.status is Status.READY and self.spec.expired(now):
            return "expired"
        return self.status.value


def index_dir() -> Path:
    return sub_dir("sandboxes")


def entry_path(audit_id: str) -> Path:
    return index_dir() / f"{audit_id}.json"


def load(audit_id: str) -> SandboxEntry | None:
    path = entry_path(audit_id)
    try:
        return SandboxEntry.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValidationError as err:
        raise BadInputError(f"{path}: not a sandbox index entry ({err.error_count()} error(s)); move it away and retry") from None


def require(audit_id: str) -> SandboxEntry:
    entry = load(audit_id)
    if entry is None:
        known = ", ".join(e.spec.audit_id for e in entries()) or "none"
        raise BadInputError(f"no sandbox {audit_id!r} on this machine; sandboxes: {known} (ailab sandbox list)")
    return entry


def save(entry: SandboxEntry) -> None:
    atomic_write_text(entry_path(entry.spec.audit_id), json.dumps(entry.model_dump(mode="json"), indent=2) + "\n", mode=0o600)


def remove(audit_id: str) -> None:
    entry_path(audit_id).unlink(missing_ok=True)


def scan() -> tuple[list[SandboxEntry], list[str]]:
    """Every sandbox in the index, by audit id, and a message for each file that could not be read."""
    found: list[SandboxEntry] = []
    problems: list[str] = []
    for path in sorted(index_dir().glob("*.json")):
        try:
            found.append(SandboxEntry.model_validate_json(path.read_text(encoding="utf-8")))
        except (OSError, ValidationError) as err:
            problems.append(f"{path}: unreadable sandbox index entry ({type(err).__name__}); move it away")
    return found, problems


def entries() -> list[SandboxEntry]:
    return scan()[0]
