"""The offline plan: a program run under the Pulumi SDK's mock monitor, as a resource graph."""

from ailab.plan.graph import FORMAT, Plan, PlannedResource

__all__ = ["FORMAT", "Plan", "PlannedResource"]
