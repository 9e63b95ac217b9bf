"""Rendering a :class:`~ailab.plan.Plan` for people: a component tree and counts by type."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ailab.formats import STACK_TYPE

if TYPE_CHECKING:
    from rich.table import Table
    from rich.tree import Tree

    from ailab.plan.graph import Plan, PlannedResource


def _label(resource: PlannedResource) -> str:
    from rich.markup import escape

    kind = "[bold cyan]" if not resource.custom else "[green]"
    return f"{kind}{escape(resource.type)}[/] {escape(resource.name)}"


def plan_tree(plan: Plan) -> Tree:
    """The stack at the root, each component with its children beneath it."""
    from rich.markup import escape
    from rich.tree import Tree

    roots = plan.children(None)
    title = f"[bold]{escape(plan.project)}/{escape(plan.stack)}[/] ({plan.program})"
    tree = Tree(title)

    def add(branch: Tree, resource: PlannedResource) -> None:
        node = branch.add(_label(resource))
        for child in plan.children(resource.urn):
            add(node, child)

    for root in roots:
        # A lab split into layers (lab.aws.kubernetes_layer) has one stack per layer: a branch each.
        branch = tree if len(roots) == 1 else tree.add(f"[bold]stack {escape(root.name.removeprefix(plan.project + '-'))}[/]")
        for child in plan.children(root.urn):
            add(branch, child)
    return tree


PROVIDER_PREFIX = "pulumi:providers:"


def type_counts(plan: Plan) -> list[str]:
    """Resources to create by type (components and providers apart: the numbers ``policy check`` reports too),
    as lines with the count first, so a long type token never wraps or pushes its count off an 80-column screen."""
    resources = Counter(r.type for r in _created(plan) if not r.type.startswith(PROVIDER_PREFIX))
    width = len(str(sum(resources.values())))
    lines = [
        f"  {count:>{width}}  {type_token}"
        for type_token, count in sorted(resources.items(), key=lambda item: (-item[1], item[0]))
    ]
    return ["Resources to create, by type:", *lines, f"  {sum(resources.values()):>{width}}  in all"]


def _created(plan: Plan) -> list[PlannedResource]:
    """What a provider would create: not what the program only reads (a StackReference to another layer's stack)."""
    return [r for r in plan.custom_resources() if not r.options.get("read")]


def summary(plan: Plan) -> str:
    """The preview's closing line: ``+ N to create`` and what else the graph holds."""
    custom = _created(plan)
    providers = sum(r.type.startswith(PROVIDER_PREFIX) for r in custom)
    components = sum(1 for r in plan.resources if not r.custom and r.type != STACK_TYPE)
    return (
        f"+ {len(custom) - providers} to create  ({components} components, {providers} provider"
        f"{'s' if providers != 1 else ''}; offline plan, nothing deployed)"
    )


def node_groups(plan: Plan) -> Table | None:
    """EKS node groups: instance types and sizes, what a reviewer of the cost looks for first."""
    from rich.table import Table

    from ailab.cli.console import text_row

    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    if not groups:
        return None
    table = Table(title="Node groups")
    for column in ("name", "instance types", "min", "desired", "max"):
        table.add_column(column, justify="right" if column in ("min", "desired", "max") else "left", no_wrap=column == "name")
    for group in groups:
        scaling = group.inputs.get("scalingConfig") or {}
        types = ", ".join(str(t) for t in group.inputs.get("instanceTypes") or [])
        text_row(table, group.name, types, *(str(scaling.get(key, "?")) for key in ("minSize", "desiredSize", "maxSize")))
    return table


def outputs(plan: Plan) -> Table | None:
    """The stack's outputs as the plan knows them (secrets as [secret], unknowns as [unknown])."""
    from rich.table import Table

    from ailab.cli.console import text_row

    if not plan.outputs:
        return None
    table = Table(title="Outputs", show_header=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in sorted(plan.outputs.items()):
        text_row(table, name, value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    return table


def show_plan(plan: Plan, json_file: Path | None, tree: bool) -> None:
    """What ``lab plan`` and ``sandbox plan`` print: the graph as JSON on stdout (``--json -``),
    or the tree (unless ``--no-tree``) and the counts, and the JSON file when one is named."""
    from ailab.cli.console import emit_json, json_to_stdout, out

    if json_to_stdout(json_file):
        emit_json(plan.to_json())
        return
    if tree:
        out().print(plan_tree(plan))
    for line in type_counts(plan):
        out().print(line, markup=False, soft_wrap=True)
    for extra in (node_groups(plan), outputs(plan)):
        if extra is not None:
            out().print(extra)
    out().print(summary(plan), markup=False)
    if json_file is not None:
        emit_json(plan.to_json(), json_file)
