"""The runner image's Dockerfile (docker/eval-runner), read statically; building it needs Docker."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ailab.sandbox.evaljob.program import RUNNER_UID

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "docker" / "eval-runner" / "Dockerfile"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


def test_every_base_image_is_pinned_by_digest() -> None:
    names: set[str] = set()
    for stage in stages():
        (_, rest), *_ = stage
        image, *alias = rest.split()
        assert image not in names, "a stage's base is an earlier stage: pin the image there"
        assert DIGEST.search(image), image
        assert ":latest" not in image
        if alias:
            names.add(alias[-1])
    copies = [rest for stage in stages() for keyword, rest in stage if keyword == "COPY" and "--from=" in rest]
    assert copies and {rest.split()[0].removeprefix("--from=") for rest in copies} <= names


def test_dependencies_come_from_the_lock_file_without_dev_tools() -> None:
    runs = [rest for keyword, rest in instructions() if keyword == "RUN"]
    assert runs and all("uv sync --locked --no-dev" in run for run in runs)
    assert not any(keyword == "ADD" for keyword, _ in instructions())


def test_the_final_stage_runs_as_the_jobs_numeric_non_root_user() -> None:
    final = stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage must name its user"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and gid.isdigit() and int(uid) != 0 and int(gid) != 0
    assert int(uid) == RUNNER_UID
    assert not any(keyword == "RUN" for keyword, _ in final), "the final stage runs nothing: no shell is needed"


def test_the_lock_file_lands_where_the_runner_fingerprints_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The image's environment is /opt/ailab: the run's uv.lock SHA-256 must not read 'unknown' in the Job."""
    from ailab.eval import runner

    final = stages()[-1]
    (destination,) = [rest.split()[-1] for keyword, rest in final if keyword == "COPY" and rest.startswith("uv.lock ")]
    python = next(rest for keyword, rest in final if keyword == "FROM").split(":")[1].split("-")[0]
    installed = tmp_path / f"opt/ailab/lib/python{python}/site-packages/ailab/eval/runner.py"
    lock = tmp_path / destination.lstrip("/")
    installed.parent.mkdir(parents=True)
    lock.write_bytes(b"version = 1\n")
    monkeypatch.setattr(runner, "__file__", str(installed))
    assert runner.lock_sha256() == hashlib.sha256(b"version = 1\n").hexdigest()


def test_the_entry_point_is_the_hidden_job_command_in_exec_form() -> None:
    (entrypoint,) = [rest for keyword, rest in stages()[-1] if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["ailab", "eval", "run-in-job"]


def docker_daemon() -> bool:
    """A Docker CLI that reaches a daemon (the CLI alone cannot build)."""
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0


@pytest.mark.skipif(not docker_daemon(), reason="building the runner image needs a Docker daemon, which this machine lacks")
def test_the_image_builds() -> None:
    subprocess.run(
        ["docker", "build", "--file", str(DOCKERFILE), "--tag", "ailab-eval:test", str(REPO)], check=True, timeout=1800
    )
    done = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "ailab", "ailab-eval:test", "eval", "checks", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert json.loads(done.stdout)["schema"] == "ailab.eu/eval-checks/v1"
