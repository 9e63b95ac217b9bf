"""What an evaluation Job mounts: the plan and its data files, small enough for one Secret.

The files keep their places relative to the plan, so the plan reads the same in the Job as on the
auditor's machine. Data under audit may be personal data: it travels in a Secret (encrypted at
rest where the lab encrypts Secrets, and in Pulumi's state), never a ConfigMap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ailab.errors import BadInputError
from ailab.safeload import TooLargeError, read_bytes

MAX_BUNDLE_BYTES = 900 * 1024
"""The API server refuses a Secret whose data totals more than 1 MiB (decoded); the rest is headroom."""
MOUNT = "/etc/ailab/eval"
PLAN_FILE = "plan.yaml"


@dataclass(frozen=True)
class EvalBundle:
    """One plan of one audit, with its files by path under :data:`MOUNT` (the plan is :data:`PLAN_FILE`)."""

    audit_id: str
    plan_name: str
    files: Mapping[str, bytes]


def collect(audit_id: str, plan_name: str, plan_path: Path, data_paths: Sequence[str]) -> EvalBundle:
    """The plan at ``plan_path`` and its data files (paths as the plan gives them, relative to it)."""
    sources = {PLAN_FILE: plan_path}
    for relative in data_paths:
        inside = PurePosixPath(relative)
        if inside.is_absolute() or ".." in inside.parts or str(inside) == PLAN_FILE:
            raise BadInputError(
                f"{plan_path}: data file {relative!r} is not below the plan's folder; the in-sandbox mode mounts the plan's "
                "folder only: move the file beside the plan and give its relative path"
            )
        source = plan_path.parent / relative
        # The text may stay below the folder while a symbolic link leads out of it: the resolved file must too.
        try:
            resolved = source.resolve()
        except (OSError, RuntimeError) as error:  # RuntimeError: a loop of symbolic links (Python 3.11)
            raise BadInputError(
                f"{plan_path}: data file {relative!r} cannot be resolved ({error}); give a regular file"
            ) from None
        if not resolved.is_relative_to(plan_path.parent.resolve()):
            raise BadInputError(
                f"{plan_path}: data file {relative!r} leads outside the plan's folder (a symbolic link); the in-sandbox "
                "mode bundles the plan's folder only: copy the file beside the plan"
            )
        sources[str(inside)] = source
    # Each file is read within what the bundle has left: a dataset of gigabytes, /dev/zero behind a symbolic link,
    # a FIFO or a file that grows while read is refused, not loaded.
    files: dict[str, bytes] = {}
    for path, source in sources.items():
        try:
            files[path] = read_bytes(source, MAX_BUNDLE_BYTES - sum(map(len, files.values())))
        except TooLargeError:
            raise BadInputError(
                f"{plan_path}: the plan and its data are over {MAX_BUNDLE_BYTES // 1024} KiB ({source.name} did not fit); "
                f"a Job in the sandbox mounts at most {MAX_BUNDLE_BYTES // 1024} KiB: evaluate a sample of the rows, or run it with --local"
            ) from None
    return EvalBundle(audit_id, plan_name, files)


def secret_items(bundle: EvalBundle) -> dict[str, str]:
    """Secret key (``file-N``: keys may not hold '/') to its path under :data:`MOUNT`."""
    return {f"file-{index}": path for index, path in enumerate(sorted(bundle.files))}
