"""What the user gives ``ailab nodes``: an inventory, ``-e KEY=VALUE`` values, tags, checked before Ansible runs."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ailab.errors import BadInputError

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TAG = re.compile(r"^[A-Za-z0-9_.:-]+$")


@dataclass(frozen=True)
class RunRequest:
    """One run of a playbook over an inventory, as the user asked for it."""

    inventory: Path
    limit: str | None = None
    tags: tuple[str, ...] = ()
    extra_vars: dict[str, str] = field(default_factory=dict)
    check: bool = False
    diff: bool = False


def inventory_path(text: str) -> Path:
    """The inventory (a file, or a directory of files and ``group_vars/``), which must exist."""
    path = Path(text).expanduser()
    if not path.exists():
        raise BadInputError(f"{text}: no such inventory; give an inventory file (hosts.yml) or its directory")
    return path.resolve()


def extra_vars(pairs: Sequence[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` pairs as a mapping.

    Values stay strings, as with ``ansible-playbook -e KEY=VALUE``: the roles' argument specs
    convert ``true``/``false`` and numbers, and lists or dictionaries belong in the inventory.
    """
    values: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not _VARIABLE.fullmatch(key):
            raise BadInputError(
                f"-e {pair!r}: expected KEY=VALUE, KEY a variable name (letters, digits and _, not starting with a digit)"
            )
        values[key] = value
    return values


def tag_list(text: str | None) -> tuple[str, ...]:
    """``--tags a,b`` as a tuple; names are checked against the playbook later (see :mod:`ailab.hosts.listing`)."""
    if not text:
        return ()
    tags = tuple(tag.strip() for tag in text.split(",") if tag.strip())
    bad = [tag for tag in tags if not _TAG.fullmatch(tag)]
    if bad or not tags:
        raise BadInputError(f"--tags {text!r}: expected comma-separated tag names, e.g. hardening_sshd,cis_5.1")
    return tags
