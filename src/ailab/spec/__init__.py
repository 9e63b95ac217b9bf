"""The lab specification (``ailab:lab`` in a stack file): models, loading and clear errors."""

from ailab.spec.model import GpuPool, LabSpec, NodePool, SandboxProfile
from ailab.spec.stackfile import Project, StackConfig, find_project, load_stack_spec, parse_lab, read_stack

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
