"""ansible-runner events as the tests need them (the shape of ``job_events/*.json``)."""

from __future__ import annotations

from typing import Any


def event(kind: str, host: str | None = None, **data: Any) -> dict[str, Any]:
    event_data: dict[str, Any] = dict(data)
    if host is not None:
        event_data["host"] = host
    return {"event": kind, "event_data": event_data}
