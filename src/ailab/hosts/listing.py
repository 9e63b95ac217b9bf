"""What a playbook will run on which host, and the tags it knows: ``ansible-playbook --list-*``, parsed.

The listing gives the progress bar its totals and checks, before anything runs, that the
inventory parses, that ``--limit`` leaves hosts and that every ``--tags`` name exists
(Ansible itself silently runs nothing for an unknown tag).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from ailab.errors import BadInputError, OperationFailedError
from ailab.hosts.inputs import RunRequest
from ailab.hosts.layout import AnsibleLayout, ansible_playbook
from ailab.hosts.summary import ansible_error

# Tags Ansible gives a meaning to; always valid in --tags.
SPECIAL_TAGS = frozenset({"all", "always", "never", "tagged", "untagged"})
_TIMEOUT_S = 120

_PLAY = re.compile(r"^  play #\d+ \((?P<pattern>.*)\): (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")
_HOSTS = re.compile(r"^    hosts \(\d+\):$")
_TASK = re.compile(r"^      (?P<name>.*?)\tTAGS: \[(?P<tags>.*)\]$")


def _tags(text: str) -> frozenset[str]:
    return frozenset(tag.strip() for tag in text.split(",") if tag.strip())


@dataclass(frozen=True)
class ListedTask:
    name: str
    tags: frozenset[str]


@dataclass
class ListedPlay:
    name: str
    hosts: list[str] = field(default_factory=list)
    tasks: list[ListedTask] = field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    """The plays of a playbook with their hosts and tasks, after ``--limit``."""

    plays: tuple[ListedPlay, ...]

    def hosts(self) -> list[str]:
        """Every targeted host, in order of first appearance."""
        return list(dict.fromkeys(host for play in self.plays for host in play.hosts))

    def known_tags(self) -> frozenset[str]:
        return frozenset(tag for play in self.plays for task in play.tasks for tag in task.tags)

    def task_counts(self, tags: Iterable[str] = ()) -> dict[str, int]:
        """How many listed tasks each host will run with ``--tags`` (handlers and loops not counted)."""
        wanted = frozenset(tags)
        counts = dict.fromkeys(self.hosts(), 0)
        for play in self.plays:
            selected = sum(1 for task in play.tasks if selected_by(task.tags, wanted))
            for host in play.hosts:
                counts[host] += selected
        return counts

    def check_tags(self, tags: Iterable[str]) -> None:
        """:class:`BadInputError` for a tag the playbook does not know."""
        unknown = sorted(set(tags) - self.known_tags() - SPECIAL_TAGS)
        if unknown:
            known = ", ".join(sorted(self.known_tags() - {"always"}))
            raise BadInputError(f"unknown tag {', '.join(unknown)}; the playbook's tags are: {known}")


def selected_by(task_tags: frozenset[str], wanted: frozenset[str]) -> bool:
    """Whether Ansible runs a task with ``task_tags`` under ``--tags wanted`` (empty: no --tags)."""
    if "always" in task_tags:
        return True
    if not wanted or "all" in wanted:
        return "never" not in task_tags
    if "tagged" in wanted and task_tags:
        return True
    if "untagged" in wanted and not task_tags:
        return True
    return bool(task_tags & wanted)


def parse(text: str) -> Listing:
    """Parse the output of ``ansible-playbook --list-hosts --list-tasks --list-tags``."""
    plays: list[ListedPlay] = []
    section = ""
    for line in text.splitlines():
        play = _PLAY.match(line)
        if play:
            plays.append(ListedPlay(play["name"]))
            section = ""
        elif not plays:
            continue
        elif _HOSTS.match(line):
            section = "hosts"
        elif line == "    tasks:":
            section = "tasks"
        elif line.startswith("      TASK TAGS:"):
            section = ""
        elif section == "hosts" and line.startswith("      "):
            plays[-1].hosts.append(line.strip())
        elif section == "tasks":
            task = _TASK.match(line)
            if task:
                plays[-1].tasks.append(ListedTask(task["name"], _tags(task["tags"])))
    return Listing(tuple(plays))


def list_playbook(layout: AnsibleLayout, playbook: str, request: RunRequest) -> Listing:
    """The listing of ``playbook`` for ``request``; bad input (inventory, limit, tags) is a :class:`BadInputError`."""
    argv = [str(ansible_playbook()), "-i", str(request.inventory), str(layout.playbook(playbook))]
    argv += ["--list-hosts", "--list-tasks", "--list-tags"]
    if request.limit:
        argv += ["--limit", request.limit]
    try:
        done = subprocess.run(
            argv, cwd=layout.root, env=layout.environment(), capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise OperationFailedError(f"listing {playbook} took over {_TIMEOUT_S} s; is the inventory a slow dynamic one?") from None
    if done.returncode != 0:
        raise BadInputError(f"{request.inventory}: {ansible_error(done.stderr) or done.stderr.strip()[-300:]}")
    listing = parse(done.stdout)
    if not listing.hosts():
        unparsed = "; ".join(line.strip() for line in done.stderr.splitlines() if "Unable to parse" in line)
        raise BadInputError(
            f"{request.inventory}: no host to run on{' (limit ' + request.limit + ')' if request.limit else ''}; "
            f"the playbooks target the groups servers, gpu_nodes and cpu_nodes{'; ' + unparsed if unparsed else ''}"
        )
    listing.check_tags(request.tags)
    return listing
