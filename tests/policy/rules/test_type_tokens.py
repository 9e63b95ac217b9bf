"""Every type token a rule names exists in the installed Pulumi providers, and the generated AWS
token sets still match the installed pulumi-aws (an upgrade that adds or moves resources fails here)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from pathlib import Path

import pytest

from ailab.policy.model import all_rules
from ailab.policy.rules._aws_types import GLOBAL_AWS_TYPES, PULUMI_AWS_VERSION, REGIONAL_AWS_TYPES

_K8S_GROUP_MODULES = {
    "core": "core",
    "apps": "apps",
    "batch": "batch",
    "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac",
    "helm.sh": "helm",
}
_K8S_TOKEN = re.compile(r"^kubernetes:([a-z0-9.]+)/(v[0-9a-z]+):([A-Za-z]+)$")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    return Path(spec.origin).parent


def test_every_rule_type_token_exists() -> None:
    k8s_root = _package_dir("pulumi_kubernetes")
    for rule in all_rules().values():
        for token in rule.types:
            if token.startswith("aws:"):
                assert token in REGIONAL_AWS_TYPES | GLOBAL_AWS_TYPES, f"{rule.id}: unknown AWS type {token}"
            elif token.startswith("kubernetes:"):
                match = _K8S_TOKEN.match(token)
                assert match, f"{rule.id}: malformed {token}"
                group, version, kind = match.groups()
                source = k8s_root / _K8S_GROUP_MODULES[group] / version / f"{kind}.py"
                assert source.is_file() and f'"{token}"' in source.read_text(), f"{rule.id}: unknown Kubernetes type {token}"
            else:
                assert token == "pulumi:providers:aws", f"{rule.id}: unexpected token {token}"


def _scan_pulumi_aws() -> tuple[set[str], set[str], str]:
    """Regenerate the sets as ``_aws_types.py`` was generated: resource classes, split on a ``region`` input."""
    root = _package_dir("pulumi_aws")
    token = re.compile(r"super\(\w+, __self__\)\.__init__\(\s*'(aws:[^']+)'")
    region = re.compile(r"^\s+region: pulumi\.Input\[Optional\[_builtins\.str\]\] = None", re.MULTILINE)
    regional: set[str] = set()
    global_: set[str] = set()
    for path in root.rglob("*.py"):
        text = path.read_text()
        match = token.search(text)
        if match:
            (regional if region.search(text) else global_).add(match.group(1))
    version = importlib.metadata.version("pulumi_aws")
    return regional, global_, version


@pytest.mark.skipif(importlib.util.find_spec("pulumi_aws") is None, reason="pulumi-aws is not installed")
def test_aws_type_sets_match_installed_provider() -> None:
    regional, global_, version = _scan_pulumi_aws()
    assert regional == REGIONAL_AWS_TYPES and global_ == GLOBAL_AWS_TYPES, (
        f"src/ailab/policy/rules/_aws_types.py was generated from pulumi-aws {PULUMI_AWS_VERSION}, the installed one is "
        f"{version}: {len(regional - REGIONAL_AWS_TYPES)} new regional types, {len(REGIONAL_AWS_TYPES - regional)} gone; regenerate it"
    )


def write_aws_types(target: Path) -> None:
    """Regenerate ``_aws_types.py``: ``.venv/bin/python tests/policy/rules/test_type_tokens.py``."""
    regional, global_, version = _scan_pulumi_aws()
    header = target.read_text().split("from __future__ import annotations", 1)[0].replace(PULUMI_AWS_VERSION, version)
    lines = [header.rstrip() + "\n", "from __future__ import annotations", "", f'PULUMI_AWS_VERSION = "{version}"', ""]
    for name, tokens, doc in (
        ("REGIONAL_AWS_TYPES", regional, "Resources that live in one region (they accept a ``region`` input)."),
        ("GLOBAL_AWS_TYPES", global_, "Resources without a region (IAM, CloudFront, Organizations, ...)."),
    ):
        lines += [f"{name}: frozenset[str] = frozenset(", "    ("]
        lines += [f'        "{token}",' for token in sorted(tokens)]
        lines += ["    )", ")", f'"""{doc}"""', ""]
    target.write_text("\n".join(lines))


if __name__ == "__main__":
    write_aws_types(Path(__file__).resolve().parents[3] / "src/ailab/policy/rules/_aws_types.py")
