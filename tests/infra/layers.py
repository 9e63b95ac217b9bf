"""A copy of the project whose example AWS lab is split into two stacks (``lab.aws.kubernetes_layer``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
INFRA, K8S = "aws-eu", "aws-eu-k8s"
LAYERS = {"infrastructure_stack": INFRA, "kubernetes_stack": K8S}


def split_project(root: Path, layers: dict[str, str] | None = None, *, api_access: bool = True) -> Path:
    """``root`` made a copy of the project whose aws-eu lab is split, with both layers' stack files (one spec).

    The stack files keep the example's ``secure:`` values and encryption salt: the Pulumi CLI decrypts
    both with the example passphrase, as ``pulumi config cp`` would have re-encrypted them.
    """
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root)
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{INFRA}.yaml").read_text())
    aws = document["config"]["ailab:lab"]["aws"]
    aws["kubernetes_layer"] = layers or LAYERS
    if not api_access:
        del aws["api_access"]
    for stack in (INFRA, K8S):
        (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return root
