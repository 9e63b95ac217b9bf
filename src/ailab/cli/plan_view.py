"""Rendering a :class:`~ailab.plan.Plan` for people: a component tree and counts by type."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

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
        for child in plan.children(root.urn):
            add(tree, child)
    return tree


def type_counts(plan: Plan) -> Table:
    from rich.table import Table

    from ailab.cli.console import text_row

    table = Table(title="Resources by type", show_footer=True)
    counts = plan.count_by_type()
    table.add_column("type", footer="total")
    table.add_column("count", justify="right", footer=str(sum(counts.values())))
    for type_token, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        text_row(table, type_token, str(count))
    return table


def show_plan(plan: Plan, json_file: Path | None, tree: bool) -> None:
    """What ``lab plan`` and ``sandbox plan`` print: the graph as JSON on stdout (``--json -``),
    or the tree (unless ``--no-tree``) and the counts, and the JSON file when one is named."""
    from ailab.cli.console import emit_json, out

    if json_file is not None and str(json_file) == "-":
        emit_json(plan.to_json())
        return
    if tree:
        out().print(plan_tree(plan))
    out().print(type_counts(plan))
    if json_file is not None:
        emit_json(plan.to_json(), json_file)
