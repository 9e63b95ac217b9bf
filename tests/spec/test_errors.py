"""Bad stack files fail with one line per problem: file:line, the exact path, what and how."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ailab.errors import BadInputError
from ailab.spec import load_stack_spec, parse_lab
from ailab.spec.stackfile import Project, find_project

REPO = Path(__file__).resolve().parents[2]

# (change to the aws-eu example, expected message (regex), expected path)
CASES = [
    (
        "    max_size: 3\n",
        "    max_sizee: 3\n",
        r"unknown key 'max_sizee' \(did you mean 'max_size'\?\)",
        "lab.gpu_pools[1].max_sizee",
    ),
    ("region: eu-central-1", "region: eu-west-2", r"'eu-west-2' is not in the EU; use one of eu-central-1", "lab.aws.region"),
    ("region: eu-central-1", "region: eu-central-2", r"is not in the EU", "lab.aws.region"),
    ("profile: 1g.10gb", "profile: 1g10gb", r"not a MIG profile; write <slices>g.<memory>gb", "lab.gpu_pools[0].sharing.profile"),
    ("profile: 1g.10gb", 'profile: "1g.10gb\\n"', r"not a MIG profile", "lab.gpu_pools[0].sharing.profile"),
    ("owner: ai-lab-unit", 'owner: "ai-lab-unit\\n"', r"cannot be a Kubernetes label value", "lab.tags.owner"),
    (
        "image: ghcr.io/mlflow/mlflow:v3.17.2-full",
        'image: "ghcr.io/mlflow/mlflow:v3.17.2-full\\n"',
        r"is not an image reference",
        "lab.mlflow.image",
    ),
    ("replicas: 4}", "replicas: 1}", r"greater than or equal to 2", "lab.gpu_pools[1].sharing.replicas"),
    ("gpu_pool: l4", "gpu_pool: l5", r"no GPU pool named 'l5'; pools are h100, l4", "lab.sandbox.profiles.gpu-shared.gpu_pool"),
    ("target: aws", "target: azure", r"'azure' is not allowed: input should be 'aws' or 'onprem'", "lab.target"),
    (
        "data_classification: confidential",
        "data_classification: secret",
        r"'public', 'internal', 'confidential' or 'restricted'",
        "lab.tags.data_classification",
    ),
    (
        "instance_types: [g6.12xlarge]",
        "instance_types: [m5.large]",
        r"'m5.large' has no NVIDIA GPU",
        "lab.gpu_pools[1].instance_types[0]",
    ),
    (
        "max_ttl: 3d",
        "max_ttl: 3w",
        r"'3w' is not a duration; write a whole number and m, h or d",
        "lab.sandbox.profiles.gpu-shared.max_ttl",
    ),
    ("max_ttl: 3d", "max_ttl: 99999999999d", r"is too long a duration", "lab.sandbox.profiles.gpu-shared.max_ttl"),
    ("default_ttl: 24h", "default_ttl: 4d", r"default_ttl is longer than max_ttl", "lab.sandbox.profiles.gpu-shared.default_ttl"),
    (
        "desired_size: 3\n",
        "desired_size: 9\n",
        r"desired_size 9 must lie between min_size 2 and max_size 4",
        "lab.system_pool.desired_size",
    ),
    (
        "reviewers: [ailab-security-reviewers]",
        "reviewers: [ailab-auditors]",
        r"also in auditors; a group holds one persona",
        "lab.access.reviewers[0]",
    ),
    (
        "image: ghcr.io/mlflow/mlflow:v3.17.2-full",
        "image: ghcr.io/mlflow/mlflow:latest",
        r"not pinned; give an explicit version tag",
        "lab.mlflow.image",
    ),
    (
        "image: ghcr.io/mlflow/mlflow:v3.17.2-full",
        "image: ghcr.io/mlflow/mlflow:v3.17.2",
        r"is the plain MLflow image, without Flask-WTF, PostgreSQL drivers and boto3; use ghcr.io/mlflow/mlflow:v3.17.2-full",
        "lab.mlflow.image",
    ),
    (
        "deployer_role_arn: arn:aws:iam::123456789012:role/ailab-deployer",
        "deployer_role_arn: arn:aws:sts::123456789012:assumed-role/ailab-deployer/session",
        r"should match pattern",
        "lab.aws.deployer_role_arn",
    ),
    ("cidr: 10.40.250.10/32", "cidr: 0.0.0.0/0", r"too wide for an allowlist", "lab.sandbox.egress_allowlist[0].cidr"),
    (
        'kubernetes_version: "1.35"',
        'kubernetes_version: "1.25"',
        r"1\.25 is long out of Amazon EKS standard support; use one of",
        "lab.cluster.kubernetes_version",
    ),
    (
        'kubernetes_version: "1.35"',
        'kubernetes_version: "1.34"',
        r"1\.34 left Amazon EKS standard support on 2026-12-02",
        "lab.cluster.kubernetes_version",
    ),
    (
        'kubernetes_version: "1.35"',
        "kubernetes_version: 1.35",
        r"1\.35 was read as a number; quote it to keep it as text, e.g. '1\.35'",
        "lab.cluster.kubernetes_version",
    ),
    (
        "instance_types: [p5.48xlarge]",
        "instance_types: [p5.48xlarg]",
        r"not an EC2 instance type; did you mean p5\.48xlarge",
        "lab.gpu_pools[0].instance_types[0]",
    ),
    (
        "profile: 1g.10gb",
        "profile: 1g.5gb",
        r"H100 80GB of p5\.48xlarge has no MIG profile 1g\.5gb",
        "lab.gpu_pools[0].sharing.profile",
    ),
    (
        "sharing: {mode: time-slicing, replicas: 4}",
        "sharing: {mode: mig, profile: 1g.10gb}",
        r"L4 24GB of g6\.12xlarge has no MIG",
        "lab.gpu_pools[1].sharing.profile",
    ),
    (
        "networks: [10.200.0.0/24]",
        "networks: [0.0.0.0/0]",
        r"open the cluster API to the internet",
        "lab.aws.api_access.networks",
    ),
    ("    cluster:\n      name: ailab-eu\n", "    cluster:\n      name: Ailab_EU\n", r"not a DNS label", "lab.cluster.name"),
    ("    cluster:\n      name: ailab-eu\n", '    cluster:\n      name: "ailab-eu\\n"\n', r"not a DNS label", "lab.cluster.name"),
    (
        "instance_types: [m7i.xlarge, m6i.xlarge]",
        "instance_types: [m7i.xlarge, m7g.xlarge]",
        r"m7i.xlarge, m7g.xlarge mix Arm \(Graviton\) and x86 types; a node group has one architecture",
        "lab.system_pool.instance_types",
    ),
]


@pytest.mark.parametrize(("old", "new", "message", "path"), CASES, ids=[case[3] for case in CASES])
def test_bad_value_names_path_and_fix(
    project: Project, write_stack: Callable[[str, str], Path], aws_text: str, old: str, new: str, message: str, path: str
) -> None:
    assert old in aws_text, f"fixture drifted: {old!r} not in the example"
    stack_file = write_stack("bad", aws_text.replace(old, new, 1))
    with pytest.raises(BadInputError) as caught:
        load_stack_spec("bad", project)
    text = str(caught.value)
    first = text.splitlines()[0]
    assert first.startswith(f"{stack_file}:"), first
    assert f": {path}: " in first, first
    assert re.search(message, first), first
    line = int(first.split(":")[1])
    assert new.strip().split("\n")[-1].split(":")[0].strip() in stack_file.read_text().splitlines()[line - 1], (line, first)


@pytest.mark.parametrize("password", ["a-plain-text-password-123", "hunter2hunter2", "x"])
def test_plain_text_secret_is_refused_with_the_command_to_fix(
    project: Project, write_stack: Callable[[str, str], Path], aws_text: str, password: str
) -> None:
    """Said first, whatever else is wrong with the value: a short clear password once got only "at least 16 characters"."""
    text = re.sub(r"admin_password:\n\s+secure: \S+", f"admin_password: {password}", aws_text)
    write_stack("plain", text)
    with pytest.raises(
        BadInputError,
        match=r"lab\.mlflow\.admin_password: secret in plain text; encrypt it with pulumi config set --secret --path 'ailab:lab\.mlflow\.admin_password' -s plain",
    ):
        load_stack_spec("plain", project)


def test_unknown_config_key_in_the_ailab_namespace(
    project: Project, write_stack: Callable[[str, str], Path], aws_text: str
) -> None:
    write_stack("typo", aws_text.replace("  ailab:lab:", "  ailab:labs:"))
    with pytest.raises(
        BadInputError, match=r"Pulumi\.typo\.yaml:\d+: unknown config key 'ailab:labs'; ailab reads only ailab:lab"
    ):
        load_stack_spec("typo", project)


def test_conflicting_provider_region(project: Project, write_stack: Callable[[str, str], Path], aws_text: str) -> None:
    write_stack("region", aws_text.replace("config:\n", "config:\n  aws:region: eu-west-1\n", 1))
    with pytest.raises(BadInputError, match=r"aws:region 'eu-west-1' differs from lab\.aws\.region 'eu-central-1'"):
        load_stack_spec("region", project)


def test_target_specific_sections(project: Project, write_stack: Callable[[str, str], Path], aws_text: str) -> None:
    write_stack("mixed", aws_text.replace("    target: aws", "    target: onprem"))
    with pytest.raises(BadInputError) as caught:
        load_stack_spec("mixed", project)
    assert "lab.onprem: target is onprem: add an onprem section with kubeconfig_context" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [1, 2]\n", r"'config' must be a mapping"),
        ("config:\n  ailab:lab: 5\n", r"lab: the lab specification must be a mapping"),
        ("confg: {}\n", r"unknown top-level key 'confg'"),
        ("config:\n  aws:region: eu-west-1\n", r"no ailab:lab key"),
        ("config:\n  ailab:lab: {target: aws\n", r"YAML syntax error"),
        ("config:\n  ailab:lab: {}\n  ailab:lab: {}\n", r":3: key 'ailab:lab' appears twice"),
        ("a: &a [1, 2]\nb: &b [*a, *a]\nconfig: {ailab:lab: *b}\n", r"unknown top-level key 'a'"),
    ],
)
def test_malformed_stack_files(project: Project, write_stack: Callable[[str, str], Path], text: str, message: str) -> None:
    write_stack("broken", text)
    with pytest.raises(BadInputError, match=message):
        load_stack_spec("broken", project)


def test_missing_stack_lists_the_known_ones(project: Project) -> None:
    with pytest.raises(BadInputError, match=r"no such stack file; known stacks: aws-eu, onprem"):
        load_stack_spec("staging", project)


@pytest.mark.parametrize("name", ["../etc", "a b", "x;rm", "", "aws-eu\n"])
def test_unsafe_stack_names(project: Project, name: str) -> None:
    with pytest.raises(BadInputError, match="a stack name is letters"):
        load_stack_spec(name, project)


def test_alias_bomb_is_refused(project: Project, write_stack: Callable[[str, str], Path]) -> None:
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    write_stack("bomb", "config:\n  ailab:lab:\n" + "\n".join(f"    {level}" for level in levels) + "\n")
    with pytest.raises(BadInputError, match=r"YAML aliases expand to more than 5,000,000 nodes \(an alias bomb\?\); refusing"):
        load_stack_spec("bomb", project)


@pytest.mark.parametrize(
    "password", ["has/slash-0123456789", "has@at-0123456789", 'has"quote-012345678', "has space-012345678", "é" * 20, "x" * 129]
)
def test_database_passwords_rds_refuses(password: str) -> None:
    spec, _ = load_stack_spec("aws-eu", find_project(REPO))
    data = spec.model_dump(mode="json", exclude_none=True)
    secrets = {"admin_password": "an-admin-password-0123", "api_key": "k" * 40}
    data["mlflow"]["admin_password"] = secrets["admin_password"]
    data["vector_db"]["api_key"] = secrets["api_key"]
    data["mlflow"]["database"]["password"] = password
    with pytest.raises(
        BadInputError, match=r"^lab\.mlflow\.database\.password: RDS accepts at most 128 printable ASCII"
    ) as raised:
        parse_lab(data)
    assert password not in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"), [("username_prefix", ""), ("groups_prefix", "system:"), ("username_prefix", "system:x-")]
)
def test_oidc_prefixes_cannot_be_empty_or_system(
    project: Project, write_stack: Callable[[str, str], Path], aws_text: str, field: str, value: str
) -> None:
    text = aws_text.replace("        client_id: ailab-eks\n", f"        client_id: ailab-eks\n        {field}: '{value}'\n")
    write_stack("prefix", text)
    with pytest.raises(BadInputError, match=rf"lab\.access\.oidc\.{field}: .*cannot be a prefix: give a non-empty one"):
        load_stack_spec("prefix", project)


def test_a_huge_stack_file_is_refused_before_it_is_parsed(tmp_path):
    """Millions of items under an unknown key: refused by size in milliseconds, not parsed for minutes."""
    from ailab.spec.stackfile import read_stack

    (tmp_path / "Pulumi.yaml").write_text("name: ailab\nruntime: python\n")
    items = "".join("    - 1\n" for _ in range(300_000))
    (tmp_path / "Pulumi.big.yaml").write_text(f"config:\n  ailab:lab:\n    junk:\n{items}")
    with pytest.raises(BadInputError, match=r"Pulumi.big.yaml: 2.3 MiB is over the 1.0 MiB limit for one input"):
        read_stack(find_project(tmp_path), "big")
