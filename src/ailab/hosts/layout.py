"""Where ailab's Ansible content lives: ``ansible.cfg``, ``playbooks/`` and ``roles/``.

They sit at the root of the source tree, next to ``src/``; ``$AILAB_ANSIBLE_DIR`` points
elsewhere (a copy of them on an operations machine, for instance).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ailab.errors import MissingPrerequisiteError

ENV = "AILAB_ANSIBLE_DIR"


@dataclass(frozen=True)
class AnsibleLayout:
    """The directory holding ``ansible.cfg``, ``playbooks/`` and ``roles/``."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "ansible.cfg"

    @property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    def playbook(self, name: str) -> Path:
        return self.playbooks / name

    def environment(self) -> dict[str, str]:
        """Variables that make Ansible (run by ailab) use this content and the tools of ailab's own environment."""
        tools = str(Path(sys.executable).parent)
        return {
            "ANSIBLE_CONFIG": str(self.config),
            # ansible-playbook and its helpers come with ailab, even when its environment is not activated.
            "PATH": os.pathsep.join([tools, os.environ.get("PATH", os.defpath)]),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
        }


def ansible_playbook() -> Path:
    """The ``ansible-playbook`` installed with ailab."""
    program = Path(sys.executable).parent / "ansible-playbook"
    if not program.exists():
        raise MissingPrerequisiteError(f"{program}: not found; install ailab with its dependencies (make install)")
    return program


def layout() -> AnsibleLayout:
    """The Ansible content ailab runs, or :class:`MissingPrerequisiteError` naming what is missing."""
    explicit = os.environ.get(ENV)
    # src/ailab/hosts/layout.py → the source tree's root
    root = Path(explicit).expanduser() if explicit else Path(__file__).resolve().parents[3]
    found = AnsibleLayout(root)
    missing = [str(path) for path in (found.config, found.playbook("site.yml"), root / "roles") if not path.exists()]
    if missing:
        raise MissingPrerequisiteError(
            f"ailab's Ansible content is not where expected (missing {', '.join(missing)}); "
            f"set {ENV} to the directory holding ansible.cfg, playbooks/ and roles/"
        )
    return found
