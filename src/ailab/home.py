"""Where ailab keeps its own data: state backend, audit log, run artifacts, credentials.

``$AILAB_HOME`` wins, then ``$XDG_DATA_HOME/ailab``, then ``~/.local/share/ailab``.
Every directory is created with mode 0700 because it may hold credentials.
"""

from __future__ import annotations

import os
from pathlib import Path

from ailab.errors import BadInputError


def data_dir() -> Path:
    """Return ailab's data directory, creating it (mode 0700) if needed."""
    explicit = os.environ.get("AILAB_HOME")
    if explicit:
        base = Path(explicit).expanduser()
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        root = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
        base = root / "ailab"
    return private_dir(base)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if missing and make sure only the owner can enter it."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as error:  # a file in the way, no permission: AILAB_HOME (or XDG_DATA_HOME) names the wrong place
        raise BadInputError(
            f"{path}: ailab cannot keep its data there ({error.strerror or error}); set AILAB_HOME to a directory of yours"
        ) from None
    return path


def sub_dir(name: str) -> Path:
    """A private subdirectory of the data dir (``state``, ``audit``, ``runs``, ``credentials``)."""
    return private_dir(data_dir() / name)


BACKEND_ENV = "AILAB_BACKEND_URL"
"""The variable that points ailab at a team's Pulumi state backend (``s3://...``)."""


def backend_url() -> str:
    """The Pulumi backend: ``$AILAB_BACKEND_URL`` or a local file backend in the data dir.

    Never Pulumi Cloud by default: the lab's state stays where the lab is.
    """
    explicit = os.environ.get(BACKEND_ENV)
    if explicit:
        return explicit
    return "file://" + str(sub_dir("state"))
