"""Turning pydantic's validation errors into one line each: ``file:line: lab.path: what and how to fix``."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from ailab.safeload import Document
from ailab.spec.model import LabSpec, Loc, LocatedValueError, model_classes

MAX_REPORTED = 10


def render_path(loc: Loc, root: str = "lab") -> str:
    """``("gpu_pools", 1, "max_size")`` → ``lab.gpu_pools[1].max_size``."""
    text = root
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _strip_union_tags(loc: Loc, data: Any) -> Loc:
    """Drop the discriminator tags pydantic inserts in locations (``sharing.mig.profile``, ``api_access.public.public_cidrs``)."""
    kept: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part not in current and part in (current.get("mode"), current.get("kind")):
            continue
        kept.append(part)
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            current = None
    return tuple(kept)


def model_at(loc: Loc, data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (None if not a model)."""
    candidates: list[type[BaseModel]] = [LabSpec]
    current = data
    for part in loc:
        if isinstance(part, int) or (isinstance(current, dict) and not any(part in c.model_fields for c in candidates)):
            # A list index or a dict key (profile name): the element type is already in candidates.
            current = _child(current, part)
            continue
        nxt: list[type[BaseModel]] = []
        for model in candidates:
            field = model.model_fields.get(str(part))
            if field is not None:
                nxt.extend(model_classes(field.annotation))
        candidates = nxt
        current = current.get(part) if isinstance(current, dict) else None
        if not candidates:
            return None
    if len(candidates) > 1 and isinstance(current, dict):
        tagged = [c for c in candidates if "mode" in c.model_fields and c.model_fields["mode"].default == current.get("mode")]
        candidates = tagged or candidates
    return candidates[0] if candidates else None


def _child(container: Any, key: str | int) -> Any:
    """``container[key]`` for a list index or mapping key that exists, else None."""
    if isinstance(container, list):
        return container[key] if isinstance(key, int) and 0 <= key < len(container) else None
    if isinstance(container, dict):
        return container.get(key)
    return None


def _message(error: Any, loc: Loc, data: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        model = model_at(loc[:-1], data)
        allowed = sorted(model.model_fields) if model else []
        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        listing = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {key!r}{suggestion}{listing}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing; add it"
    shown = error.get("input")
    if kind == "string_type" and isinstance(shown, int | float) and not isinstance(shown, bool):
        # YAML reads 1.35 as a number (and 1.30 as 1.3): a version must be quoted to stay text.
        return f"{shown!r} was read as a number; quote it to keep it as text, e.g. '{shown}'"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    if isinstance(shown, (str, int, float, bool)) and "password" not in str(loc) and "key" not in str(loc[-1:]):
        return f"{shown!r} is not allowed: {message[0].lower()}{message[1:]}"
    return f"{message[0].lower()}{message[1:]}"


def located_errors(err: ValidationError, data: Any) -> Iterator[tuple[Loc, str]]:
    """Each error of ``err`` as (path relative to ``lab``, message)."""
    for error in err.errors():
        loc: Loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, LocatedValueError):
            loc = (*loc, *cause.loc)
            yield _strip_union_tags(loc, data), cause.message
            continue
        loc = _strip_union_tags(loc, data)
        yield loc, _message(error, loc, data)


def format_errors(errors: list[tuple[Loc, str]], document: Document | None, base: Loc) -> str:
    """One line per error, at most :data:`MAX_REPORTED`, prefixed with ``file:line`` when known."""
    lines: list[str] = []
    for loc, message in errors[:MAX_REPORTED]:
        where = f"{document.source}:{document.line_of((*base, *loc))}: " if document is not None else ""
        lines.append(f"{where}{render_path(loc)}: {message}")
    if len(errors) > MAX_REPORTED:
        lines.append(f"... and {len(errors) - MAX_REPORTED} more problems")
    return "\n".join(lines)
