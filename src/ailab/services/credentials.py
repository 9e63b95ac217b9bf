"""Generated passwords, kept only in files that their owner alone can read.

A new MLflow user's password is shown once and written here; nowhere else on disk. The file is
written by :func:`ailab.fsio.atomic_write_text` with mode 0600: it is created by ``mkstemp``
(0600 whatever the umask), so no reader can open it between creation and the final rename, and
the data dir around it is 0700.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from ailab import home
from ailab.errors import BadInputError, OperationFailedError
from ailab.fsio import atomic_write_text
from ailab.spec.types import is_dns_label

FILE_MODE = 0o600


def credentials_path(audit_id: str, service: str) -> Path:
    """``<data dir>/credentials/<audit_id>/<service>.json``, its directories created 0700."""
    for what, name in (("audit id", audit_id), ("service", service)):
        if not is_dns_label(name):
            raise BadInputError(f"{what} {name!r} cannot name a credentials file: use lower-case letters, digits and '-'")
    return home.private_dir(home.sub_dir("credentials") / audit_id) / f"{service}.json"


def write_credentials(path: Path, service_url: str, passwords: Mapping[str, str]) -> Path:
    """Add ``passwords`` (username to password) to the JSON file at ``path``, mode 0600, atomically.

    Users already in the file keep their entry unless ``passwords`` names them again: a password is
    generated once, so losing an earlier one would lock its user out.
    """
    users = {**read_credentials(path), **passwords}
    document = {
        "service_url": service_url,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "users": dict(sorted(users.items())),
    }
    return atomic_write_text(path, json.dumps(document, indent=2) + "\n", mode=FILE_MODE)


def read_credentials(path: Path) -> dict[str, str]:
    """The passwords in a file written by :func:`write_credentials`; none when it does not exist."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise OperationFailedError(
            f"cannot read the credentials file {path} ({error}): repair or move it; it may hold passwords shown only once"
        ) from error
    users = document.get("users") if isinstance(document, dict) else None
    if not isinstance(users, dict):
        raise OperationFailedError(f"the credentials file {path} has no 'users' object: repair or move it")
    return {str(name): str(password) for name, password in users.items()}
