"""Validation of what an auditor types: audit ids, team members, groups, free text.

Every value ends up in a Kubernetes name or label, a Pulumi stack name, a file name under the
data dir and the audit log, so each is checked against the narrowest form that serves it, and
a refusal says what is allowed.
"""

from __future__ import annotations

import re

from ailab.errors import BadInputError
from ailab.spec.types import is_dns_label

AUDIT_ID_MAX = 40
"""Namespaces are ``audit-<id>`` and other names add suffixes; 40 keeps every derived name under 63."""

_LOCAL_PART = r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?"
_USERNAME = re.compile(rf"^{_LOCAL_PART}(@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+)?$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
TEAM_MAX = 50
PURPOSE_MAX = 500


def audit_id(value: str) -> str:
    """An audit id: a DNS label of at most 40 characters (lower-case letters, digits, '-')."""
    if not is_dns_label(value, AUDIT_ID_MAX):
        raise BadInputError(
            f"audit id {value!r}: use 1 to {AUDIT_ID_MAX} lower-case letters, digits and '-', starting and ending with a "
            "letter or digit (e.g. 2025-017-chatbot); it names the sandbox's namespace, stack and files"
        )
    return value


def team(members: str | list[str]) -> tuple[str, ...]:
    """Team members from ``--team alice,bob`` (or repeated options): usernames or e-mail addresses, no duplicates."""
    items = members.split(",") if isinstance(members, str) else [part for item in members for part in item.split(",")]
    names = tuple(item.strip() for item in items if item.strip())
    if not names:
        raise BadInputError("--team: name at least one team member, e.g. --team alice,bob")
    if len(names) > TEAM_MAX:
        raise BadInputError(f"--team: {len(names)} members; a sandbox team has at most {TEAM_MAX} (use --group for more)")
    for name in names:
        if not _USERNAME.fullmatch(name):
            raise BadInputError(
                f"--team: {name!r} does not look like a username; use letters, digits, '.', '_' and '-' "
                "(at most 63, starting and ending with a letter or digit), optionally @domain"
            )
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise BadInputError(f"--team: {', '.join(duplicates)} listed twice")
    return names


def owner_label(member: str) -> str:
    """The owner label of a sandbox: the lead's username (the local part of an e-mail address, a valid label value)."""
    return member.split("@", 1)[0]


def group(value: str) -> str:
    """An identity-provider group (``--group``): letters, digits, '.', '_', '/', '-'."""
    if not _GROUP.fullmatch(value):
        raise BadInputError(
            f"--group {value!r}: use at most 128 letters, digits, '.', '_', '/' and '-', starting with a letter or digit"
        )
    return value


def purpose(value: str) -> str:
    """The purpose of the processing (an annotation and a log field): one printable line, stripped (empty when blank)."""
    text = value.strip()
    if len(text) > PURPOSE_MAX or not text.isprintable():
        raise BadInputError(f"--purpose: one line of printable text, at most {PURPOSE_MAX} characters")
    return text
