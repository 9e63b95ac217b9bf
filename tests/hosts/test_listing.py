"""Parsing `ansible-playbook --list-*`, tag selection and task totals; the real listing of the example inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailab.errors import BadInputError
from ailab.hosts.inputs import RunRequest
from ailab.hosts.layout import layout
from ailab.hosts.listing import list_playbook, parse, selected_by

REPO = Path(__file__).resolve().parents[2]

LISTING = """
playbook: playbooks/site.yml

  play #1 (servers): Check every role's variables before anything changes\tTAGS: [always]
    pattern: ['servers']
    hosts (2):
      cpu-01
      gpu-01
    tasks:
      hardening : Refuse an unsupported platform\tTAGS: [always]
      TASK TAGS: [always]

  play #2 (servers): Harden the lab's servers\tTAGS: []
    pattern: ['servers']
    hosts (2):
      cpu-01
      gpu-01
    tasks:
      hardening : Validating arguments\tTAGS: [always]
      hardening : Write the sshd settings\tTAGS: [cis_5.1, hardening_sshd]
      hardening : Write the banner\tTAGS: [cis_1.6, hardening_banner]
      TASK TAGS: [always, cis_1.6, cis_5.1, hardening_banner, hardening_sshd]

  play #3 (gpu_nodes): Prepare the GPU servers\tTAGS: []
    pattern: ['gpu_nodes']
    hosts (1):
      gpu-01
    tasks:
      gpu_node : Blacklist nouveau\tTAGS: [gpu_node_nouveau]
      gpu_node : Untagged\tTAGS: []
      TASK TAGS: [gpu_node_nouveau]
"""


def test_parse_plays_hosts_tasks_and_tags() -> None:
    listing = parse(LISTING)
    assert [play.name for play in listing.plays] == [
        "Check every role's variables before anything changes",
        "Harden the lab's servers",
        "Prepare the GPU servers",
    ]
    assert listing.hosts() == ["cpu-01", "gpu-01"]
    assert listing.plays[1].tasks[1].tags == {"cis_5.1", "hardening_sshd"}
    assert listing.known_tags() == {"always", "cis_1.6", "cis_5.1", "hardening_banner", "hardening_sshd", "gpu_node_nouveau"}


def test_task_counts_follow_tags() -> None:
    listing = parse(LISTING)
    assert listing.task_counts() == {"cpu-01": 4, "gpu-01": 6}
    # always-tagged tasks run whatever --tags says
    assert listing.task_counts(["hardening_sshd"]) == {"cpu-01": 3, "gpu-01": 3}
    assert listing.task_counts(["untagged"]) == {"cpu-01": 2, "gpu-01": 3}


@pytest.mark.parametrize(
    ("task_tags", "wanted", "runs"),
    [
        ({"always"}, {"x"}, True),
        ({"a"}, set(), True),
        ({"never"}, set(), False),
        ({"never", "a"}, {"a"}, True),
        ({"a"}, {"all"}, True),
        ({"a"}, {"tagged"}, True),
        (set(), {"tagged"}, False),
        (set(), {"untagged"}, True),
        ({"a"}, {"b"}, False),
    ],
)
def test_selected_by_follows_ansible(task_tags: set[str], wanted: set[str], runs: bool) -> None:
    assert selected_by(frozenset(task_tags), frozenset(wanted)) is runs


def test_unknown_tags_are_refused_naming_the_known_ones() -> None:
    listing = parse(LISTING)
    listing.check_tags(["cis_5.1", "all", "untagged"])
    with pytest.raises(BadInputError, match=r"unknown tag bogus; the playbook's tags are: .*hardening_sshd"):
        listing.check_tags(["bogus", "cis_5.1"])


@pytest.mark.integration
def test_example_inventory_lists_every_group_and_refuses_unknown_tags() -> None:
    inventory = REPO / "inventories" / "example"
    listing = list_playbook(layout(), "site.yml", RunRequest(inventory))
    assert sorted(listing.hosts()) == ["cpu-01.lab.example", "gpu-01.lab.example", "gpu-02.lab.example"]
    counts = listing.task_counts()
    assert counts["gpu-01.lab.example"] > counts["cpu-01.lab.example"] > 50  # the GPU play adds its tasks
    assert {"cis_5.1", "cis_6.3", "hardening_sshd", "gpu_node_driver", "k8s_node_binary"} <= listing.known_tags()
    with pytest.raises(BadInputError, match="unknown tag cis_99"):
        list_playbook(layout(), "site.yml", RunRequest(inventory, tags=("cis_99",)))
    with pytest.raises(BadInputError, match="no hosts"):
        list_playbook(layout(), "site.yml", RunRequest(inventory, limit="no-such-host"))


@pytest.mark.integration
def test_the_hardening_baseline_alone_is_a_tag() -> None:
    """playbooks/hardening.yml: `ailab nodes prepare --tags hardening` runs the whole role and, of the others, their checks."""
    wanted = frozenset({"hardening"})
    listing = list_playbook(layout(), "site.yml", RunRequest(REPO / "inventories" / "example", tags=tuple(wanted)))
    plays = {play.name: play for play in listing.plays}
    assert all(selected_by(task.tags, wanted) for task in plays["Harden the lab's servers"].tasks)
    gpu_tasks = plays["Prepare the GPU servers"].tasks
    assert [task for task in gpu_tasks if selected_by(task.tags, wanted)] == [task for task in gpu_tasks if "always" in task.tags]


@pytest.mark.integration
def test_an_inventory_without_the_lab_groups_is_refused(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    stray.example: {}\n")
    with pytest.raises(
        BadInputError, match="no host to run on; the playbooks target the groups servers, gpu_nodes and cpu_nodes"
    ):
        list_playbook(layout(), "site.yml", RunRequest(inventory))
