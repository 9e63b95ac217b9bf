"""docker/ailab-operator: the reaper's image installs what uv.lock pins and runs as the reaper's user.

Building it needs Docker with BuildKit and the internet; these tests check what can drift without a build.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ailab.infra.k8s import reaper

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "docker" / "ailab-operator" / "Dockerfile").read_text()


def build_arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.MULTILINE)
    assert match, f"ARG {name} has no default"
    return match.group(1)


def locked(package: str) -> str:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    (version,) = [p["version"] for p in lock["package"] if p["name"] == package]
    return str(version)


def test_pulumi_cli_and_plugin_match_the_locked_sdks():
    assert build_arg("PULUMI_VERSION") == locked("pulumi")
    assert build_arg("KUBERNETES_PLUGIN") == locked("pulumi-kubernetes")


def test_installs_ailab_from_the_lock_without_dev_tools():
    assert "uv sync --locked --no-dev --no-editable" in DOCKERFILE


def test_runs_as_the_reapers_non_root_user_with_writable_tmp_only():
    assert f"USER {reaper.RUN_AS.uid}:{reaper.RUN_AS.gid}" in DOCKERFILE
    assert f"--uid {reaper.RUN_AS.uid} --gid {reaper.RUN_AS.gid}" in DOCKERFILE
    assert "PULUMI_HOME=/tmp/.pulumi" in DOCKERFILE and reaper.SCRATCH.mount_path == "/tmp"


def test_the_pulumi_cli_is_verified_against_its_checksums():
    assert "sha256sum -c" in DOCKERFILE
