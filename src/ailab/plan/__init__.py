"""The offline plan: a program run under the Pulumi SDK's mock monitor, as a resource graph."""

from ailab.formats import PLAN_FORMAT
from ailab.plan.graph import Plan, PlannedResource

__all__ = ["PLAN_FORMAT", "Plan", "PlannedResource"]
