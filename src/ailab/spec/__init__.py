"""The lab specification (``ailab:lab`` in a stack file): models, loading and clear errors.

Names are resolved lazily (PEP 562) so that importing a light submodule such as
``ailab.spec.labels`` does not build the pydantic models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailab.spec.model import GpuPool, LabSpec, NodePool, SandboxProfile
    from ailab.spec.stackfile import Project, StackConfig, find_project, load_stack_spec, parse_lab, read_stack

_EXPORTS = {
    "GpuPool": "ailab.spec.model",
    "LabSpec": "ailab.spec.model",
    "NodePool": "ailab.spec.model",
    "SandboxProfile": "ailab.spec.model",
    "Project": "ailab.spec.stackfile",
    "StackConfig": "ailab.spec.stackfile",
    "find_project": "ailab.spec.stackfile",
    "load_stack_spec": "ailab.spec.stackfile",
    "parse_lab": "ailab.spec.stackfile",
    "read_stack": "ailab.spec.stackfile",
}

__all__ = [
    "GpuPool",
    "LabSpec",
    "NodePool",
    "Project",
    "SandboxProfile",
    "StackConfig",
    "find_project",
    "load_stack_spec",
    "parse_lab",
    "read_stack",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailab.spec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
