"""`ailab nodes`: Architects: prepare on-premises hosts with Ansible (hardening, GPU drivers, k3s).

Thin: the options become a :class:`~ailab.hosts.inputs.RunRequest`, :mod:`ailab.hosts` runs the
playbook through ansible-runner, :mod:`ailab.cli.nodes_view` draws progress and results.
Ansible, ansible-runner and rich load inside the commands.
"""

from __future__ import annotations

import typer

from ailab.cli.base import new_group

app = new_group("Architects: prepare on-premises hosts with Ansible (hardening, GPU drivers, k3s).")

_INVENTORY_HELP = "Inventory file or directory with the groups servers, gpu_nodes and cpu_nodes (see inventories/example)."
_LIMIT_HELP = "Only these hosts or groups (an Ansible pattern, e.g. gpu_nodes or gpu-01*)."


@app.command("prepare")
def prepare(
    inventory: str = typer.Option(..., "-i", "--inventory", metavar="INVENTORY", help=_INVENTORY_HELP),
    check: bool = typer.Option(False, "--check", help="Report what would change, change nothing."),
    diff: bool = typer.Option(False, "--diff", help="Show the changes to files (with --check: the changes that would be made)."),
    limit: str | None = typer.Option(None, "--limit", metavar="HOSTS", help=_LIMIT_HELP),
    tags: str | None = typer.Option(
        None, "--tags", metavar="TAGS", help="Only the tasks with these tags, e.g. hardening_sshd,cis_5.1 (see docs/hosts.md)."
    ),
    extra: list[str] = typer.Option(
        [], "-e", "--extra-vars", metavar="KEY=VALUE", help="Set a role variable for this run (repeatable); values are strings."
    ),
) -> None:
    """Harden every server, prepare the GPU servers and install k3s (playbooks/site.yml).

    Exit 0 when every host succeeded, 1 when a host failed or was unreachable (the others carry
    on), 2 for bad input: inventory, -e syntax, unknown tag, or a variable a role refuses
    (refused before anything changes). The run's artifacts stay under ailab's data dir (runs/).
    """
    from ailab.cli.nodes_view import DiffCollector, live_progress, report_outcome
    from ailab.hosts.inputs import RunRequest, extra_vars, inventory_path, tag_list
    from ailab.hosts.layout import layout
    from ailab.hosts.listing import list_playbook
    from ailab.hosts.progress import ProgressBoard
    from ailab.hosts.runner import SITE, run_playbook

    request = RunRequest(inventory_path(inventory), limit, tag_list(tags), extra_vars(extra), check, diff)
    content = layout()
    listing = list_playbook(content, SITE, request)
    diffs = DiffCollector(enabled=diff)
    with live_progress(ProgressBoard(listing.task_counts(request.tags)), also=diffs.add) as on_event:
        outcome = run_playbook(content, SITE, request, on_event)
    diffs.show()
    report_outcome(outcome)


@app.command("facts")
def facts(
    inventory: str = typer.Option(..., "-i", "--inventory", metavar="INVENTORY", help=_INVENTORY_HELP),
    limit: str | None = typer.Option(None, "--limit", metavar="HOSTS", help=_LIMIT_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print every node's GPU facts (ailab_gpu) as JSON."),
) -> None:
    """The GPUs of every node, read through NVML on the node by the gpu_node role's module (changes nothing).

    Exit 0 when every node answered (with or without GPUs), 1 when a node failed or was unreachable.
    """
    from ailab.cli.console import emit_json, out
    from ailab.cli.nodes_view import facts_table, report_failures
    from ailab.hosts.inputs import RunRequest, inventory_path
    from ailab.hosts.layout import layout
    from ailab.hosts.listing import list_playbook
    from ailab.hosts.runner import GPU_FACTS, gather_gpu_facts

    request = RunRequest(inventory_path(inventory), limit)
    content = layout()
    list_playbook(content, GPU_FACTS, request)
    found, outcome = gather_gpu_facts(content, request)
    if as_json:
        emit_json({"hosts": found, "failures": {failure.host: failure.message for failure in outcome.failures}})
    else:
        out().print(facts_table(found, outcome))
    report_failures(outcome)
