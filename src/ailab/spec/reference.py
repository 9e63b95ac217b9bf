"""The stack-settings reference (``docs/spec-reference.md``), generated from the models.

Generated rather than written so it cannot drift: a test compares the committed file with
:func:`render_reference` and refuses fields without a description.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import IPv4Network
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ailab.spec.model import LabSpec, model_classes
from ailab.spec.types import format_duration

HEADER = """# Stack settings reference

Everything under the `ailab:lab` key of `stacks/Pulumi.<stack>.yaml`. Unknown keys are errors.
Generated from `ailab.spec.model` by `ailab lab schema --format markdown`; do not edit by hand.

Types: *duration* is a whole number with `m`, `h` or `d` (`30m`, `12h`, `7d`; at most `1000000d`);
*quantity* is a Kubernetes quantity (`500m`, `4`, `16Gi`); *secret* must be stored encrypted
(`pulumi config set --secret --path 'ailab:lab.<path>'`) and is refused in plain text.
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        base = args[0]
        names = {getattr(m, "func", None).__name__ for m in args[1:] if hasattr(m, "func")}  # type: ignore[union-attr]
        if base is timedelta:
            return "duration"
        if names & {"_check_cpu", "_check_size"}:
            return "quantity"
        if "check_dns_label" in names:
            return "DNS label"
        return _type_name(base)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" (optional)" if type(None) in args else "")
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if annotation is SecretStr:
        return "secret"
    if annotation is IPv4Network:
        return "IPv4 network"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            parts.append(f"≥ {meta.ge}")
        elif isinstance(meta, annotated_types.Le):
            parts.append(f"≤ {meta.le}")
        elif isinstance(meta, annotated_types.MinLen):
            parts.append(f"at least {meta.min_length}")
        elif isinstance(meta, annotated_types.MaxLen):
            parts.append(f"at most {meta.max_length} chars")
        elif hasattr(meta, "pattern") and meta.pattern:
            parts.append(f"pattern `{meta.pattern}`")
    return ", ".join(parts)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, BaseModel):
        return "(defaults below)"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if value in ([], {}):
        return "empty"
    return f"`{value}`"


def _walk(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        for sub in model_classes(field.annotation):
            yield from _walk(sub, seen)


def spec_models() -> Iterator[type[BaseModel]]:
    """Every model of the lab specification, :class:`~ailab.spec.model.LabSpec` first, each once."""
    return _walk(LabSpec, set())


def render_reference() -> str:
    """The whole reference as Markdown."""
    sections = [HEADER]
    for model in spec_models():
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        rows = ["| key | type | default | constraints | description |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            rows.append(
                f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {_constraints(field)} | {field.description or ''} |"
            )
        sections.append(f"## {model.__name__}\n\n{doc}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(sections)
