"""The Kubernetes layer in a stack of its own (``lab.aws.kubernetes_layer``), under the SDK's mocks.

The example AWS lab is planned twice: whole (one stack, as ``stacks/Pulumi.aws-eu.yaml`` is) and split
into the infrastructure stack ``aws-eu`` and the Kubernetes layer's stack ``aws-eu-k8s``. The split must
build the same platform from the infrastructure stack's outputs only, read through a StackReference
naming the right stack, with the secrets still secret, and the deployability rules must accept it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pulumi
import pytest
import yaml
from pydantic import SecretStr
from tests.infra.layers import INFRA, K8S, LAYERS, REPO, split_project

from ailab.errors import BadInputError
from ailab.formats import SECRET
from ailab.infra.contracts import KUBERNETES_LAYER_OUTPUTS, REAPER_OUTPUTS
from ailab.infra.layers import check_same_spec, spec_digest
from ailab.infra.program import run_lab_program
from ailab.plan.graph import Plan, PlannedResource
from ailab.plan.lab import plan_lab
from ailab.plan.mocks import StackExports
from ailab.plan.runner import run_program, run_program_with_exports
from ailab.policy.loaders.plan import records_from_plan
from ailab.policy.model import Record, RecordSet, RuleContext, StackRule, all_rules
from ailab.policy.run import Crash, run_rule
from ailab.spec import find_project, load_stack_spec, parse_lab

PLATFORM = "ailab:k8s:Platform"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def _stack(resource: PlannedResource) -> str:
    return resource.urn.split("::")[0].removeprefix("urn:pulumi:")


def _platform(plan: Plan) -> dict[tuple[str, str], dict[str, object]]:
    """The platform's resources (LabPlatform and everything under it), by type and name, with their inputs."""
    by_urn = plan.by_urn()

    def under_platform(resource: PlannedResource | None) -> bool:
        while resource is not None:
            if resource.type == PLATFORM:
                return True
            resource = by_urn.get(resource.parent or "")
        return False

    return {(r.type, r.name): r.inputs for r in plan.resources if under_platform(r)}


@pytest.fixture(scope="module")
def split_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split_project(tmp_path_factory.mktemp("split"))


@pytest.fixture(scope="module")
def whole() -> Plan:
    return plan_lab(INFRA, find_project(REPO))


@pytest.fixture(scope="module")
def split(split_root: Path) -> Plan:
    return plan_lab(INFRA, find_project(split_root))


def test_each_layer_is_planned_in_its_own_stack(split: Plan) -> None:
    stacks = {_stack(r) for r in split.resources}
    assert stacks == {INFRA, K8S}
    infrastructure = [r for r in split.resources if _stack(r) == INFRA]
    kubernetes = [r for r in split.resources if _stack(r) == K8S]
    assert not [r for r in infrastructure if r.type.startswith("kubernetes:") or r.type == K8S_PROVIDER]
    assert not [r for r in kubernetes if r.type.startswith(("aws:", "pulumi:providers:aws"))]
    assert [r.type for r in kubernetes if r.type.startswith("kubernetes:")]  # the platform is there


def test_the_split_builds_the_same_platform_with_the_same_inputs(whole: Plan, split: Plan) -> None:
    """Every platform object, and every input of it, as in one stack: the values came through the reference."""
    in_one_stack = _platform(whole)
    assert len(in_one_stack) > 50
    assert _platform(Plan(split.project, K8S, "lab", tuple(r for r in split.resources if _stack(r) == K8S))) == in_one_stack


def test_the_infrastructure_is_the_same_without_the_kubernetes_layer(whole: Plan, split: Plan) -> None:
    def infrastructure(plan: Plan) -> set[tuple[str, str]]:
        platform = _platform(plan)
        return {(r.type, r.name) for r in plan.resources if _stack(r) == INFRA and r.type != K8S_PROVIDER} - set(platform)

    assert infrastructure(split) == infrastructure(whole)
    assert len(split.resources) == len(whole.resources) + 2  # the Kubernetes layer's Stack and its StackReference


def test_the_stack_reference_names_the_infrastructure_stack(split: Plan) -> None:
    (reference,) = split.of_type(STACK_REFERENCE)
    assert _stack(reference) == K8S
    assert reference.inputs == {"name": f"organization/ailab/{INFRA}"}  # the DIY backend's form
    (provider,) = [r for r in split.of_type(K8S_PROVIDER) if _stack(r) == K8S]
    assert provider.dependencies == (reference.urn,)
    assert provider.inputs["kubeconfig"] == SECRET


def test_the_infrastructure_stack_exports_the_contract_with_secrets_secret(split: Plan, whole: Plan) -> None:
    assert set(KUBERNETES_LAYER_OUTPUTS) | set(REAPER_OUTPUTS) <= set(split.outputs)  # the example has a reaper
    assert split.outputs["reaperTrailBucket"] == split.outputs["evidenceBucket"]
    assert split.outputs["reaperTrailSigningKey"] == split.outputs["trailSigningKey"]
    assert split.outputs["reaperTrailBucketKey"] == split.outputs["volumeKeyArn"]  # the lab's data key
    assert split.outputs["kubeconfig"] == split.outputs["mlflowBackendStoreUri"] == SECRET
    assert split.outputs["mlflowRoleArn"].startswith("arn:aws:iam::")
    assert "mlflowBackendStoreUri" not in whole.outputs  # in one stack the database URI is no stack output


def test_the_kubernetes_layers_plan_has_its_own_outputs(split_root: Path) -> None:
    plan = plan_lab(K8S, find_project(split_root))
    assert plan.stack == K8S and plan.outputs["kubeconfig"] == SECRET
    assert "mlflowBackendStoreUri" not in plan.outputs and plan.outputs["mlflowUrl"]


SENTINELS = {
    "kubeconfig": "sentinel-kubeconfig",
    "volumeKeyArn": "arn:aws:kms:eu-central-1:999999999999:key/sentinel",
    "mlflowBackendStoreUri": "postgresql://mlflow:sentinel-password@sentinel-db:5432/mlflow",
    "mlflowArtifactsDestination": "s3://sentinel-bucket/artifacts",
    "mlflowRoleArn": "arn:aws:iam::999999999999:role/sentinel-mlflow",
    "mlflowS3EndpointUrl": "https://bucket.vpce-sentinel.s3.eu-central-1.vpce.amazonaws.com",
    "clusterName": "sentinel-cluster",
    "reaperRoleArn": "arn:aws:iam::999999999999:role/sentinel-reaper",
    "reaperTrailBucket": "sentinel-evidence",
    "reaperTrailSigningKey": "arn:aws:kms:eu-central-1:999999999999:key/sentinel-signing",
    "reaperTrailBucketKey": "arn:aws:kms:eu-central-1:999999999999:key/sentinel-evidence",
}


def _exports(root: Path, secret: frozenset[str] = frozenset({"kubeconfig", "mlflowBackendStoreUri"})) -> StackExports:
    """What a deployed infrastructure stack would hand over: the sentinels, and the digest of the spec it was built from."""
    spec = load_stack_spec(INFRA, find_project(root))[0]
    return StackExports({**SENTINELS, "labSpecDigest": spec_digest(spec)}, secret)


def _kubernetes_layer(root: Path, exports: StackExports) -> Plan:
    spec, config = load_stack_spec(K8S, find_project(root))
    return run_program(
        run_lab_program,
        project="ailab",
        stack=K8S,
        kind="lab",
        config=config.config,
        secret_keys=config.secret_keys,
        region=spec.region,
        references={f"organization/ailab/{INFRA}": exports},
    )


def test_every_platform_input_comes_from_the_reference(split_root: Path) -> None:
    plan = _kubernetes_layer(split_root, _exports(split_root))
    text = json.dumps(plan.to_json())
    for name in ("volumeKeyArn", "mlflowArtifactsDestination", "mlflowRoleArn", "mlflowS3EndpointUrl", *REAPER_OUTPUTS):
        assert SENTINELS[name] in text, name
    for name in ("kubeconfig", "mlflowBackendStoreUri"):
        assert SENTINELS[name] not in text, f"{name} printed in clear"
    # No value of the mocked AWS layer: nothing is hard-coded or derived. (The example stack's own reaper
    # state bucket happens to be named after AWS's documentation account, so it is left out.)
    spec = load_stack_spec(K8S, find_project(split_root))[0]
    assert spec.sandbox.reaper is not None
    assert "123456789012" not in text.replace(spec.sandbox.reaper.state_backend, "")
    assert plan.outputs["clusterName"] == "sentinel-cluster"


def test_secrets_stay_secret_even_when_the_reference_does_not_flag_them(split_root: Path) -> None:
    plan = _kubernetes_layer(split_root, _exports(split_root, secret=frozenset()))
    text = json.dumps(plan.to_json())
    assert SENTINELS["kubeconfig"] not in text and "sentinel-password" not in text


def test_a_missing_output_fails_the_layer_naming_it(split_root: Path) -> None:
    exports = _exports(split_root)
    partial = StackExports({k: v for k, v in exports.values.items() if k != "mlflowRoleArn"}, exports.secret_names)
    with pytest.raises(KeyError, match="mlflowRoleArn"):
        _kubernetes_layer(split_root, partial)


def test_the_reapers_trail_comes_from_the_reference(split_root: Path) -> None:
    plan = _kubernetes_layer(split_root, _exports(split_root))
    (job,) = [r for r in plan.of_type("kubernetes:batch/v1:CronJob") if r.inputs["metadata"]["name"] == "ailab-reaper"]
    (container,) = job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["AILAB_TRAIL_STORE"] == "s3://sentinel-evidence/trail/reaper"
    assert env["AILAB_TRAIL_SIGNING_KEY"] == SENTINELS["reaperTrailSigningKey"]
    assert env["AILAB_TRAIL_KMS_KEY"] == SENTINELS["reaperTrailBucketKey"]
    assert env["AILAB_TRAIL_S3_ENDPOINT"] == SENTINELS["mlflowS3EndpointUrl"]


@pytest.mark.parametrize("missing", ["reaperTrailBucket", "reaperTrailSigningKey", "reaperTrailBucketKey"])
def test_a_lab_with_a_reaper_requires_its_trail_outputs(split_root: Path, missing: str) -> None:
    exports = _exports(split_root)
    partial = StackExports({k: v for k, v in exports.values.items() if k != missing}, exports.secret_names)
    with pytest.raises(KeyError, match=missing):
        _kubernetes_layer(split_root, partial)


def test_no_kubernetes_object_is_planned_from_another_spec_than_the_infrastructures(split_root: Path) -> None:
    exports = _exports(split_root)
    other = StackExports({**exports.values, "labSpecDigest": "0" * 64}, exports.secret_names)
    with pytest.raises(BadInputError, match=f"^stack {K8S}: the infrastructure stack {INFRA} was deployed from another"):
        _kubernetes_layer(split_root, other)


def test_the_kubernetes_layer_refuses_a_cluster_built_from_another_spec(split_root: Path) -> None:
    spec = load_stack_spec(K8S, find_project(split_root))[0]
    other = spec.model_copy(update={"cluster": spec.cluster.model_copy(update={"name": "ailab-other"})})
    assert spec_digest(other) != spec_digest(spec)
    check_same_spec(spec_digest(spec), spec_digest(spec), INFRA)
    with pytest.raises(pulumi.RunError, match=f"infrastructure stack {INFRA} was deployed from another ailab:lab"):
        check_same_spec(spec_digest(other), spec_digest(spec), INFRA)


def test_the_spec_digest_leaves_secrets_out(split_root: Path) -> None:
    spec = load_stack_spec(K8S, find_project(split_root))[0]
    rotated = spec.model_copy(
        update={"mlflow": spec.mlflow.model_copy(update={"admin_password": SecretStr("another-password-0123")})}
    )
    assert spec_digest(rotated) == spec_digest(spec)


def test_a_stack_the_spec_does_not_name_is_refused(tmp_path: Path) -> None:
    root = split_project(tmp_path, {"infrastructure_stack": "aws-eu-infra", "kubernetes_stack": K8S})
    with pytest.raises(
        BadInputError, match=r"stack aws-eu: lab\.aws\.kubernetes_layer names the stacks aws-eu-infra and aws-eu-k8s"
    ):
        plan_lab(INFRA, find_project(root))


def test_the_two_stack_files_must_hold_one_spec(tmp_path: Path) -> None:
    root = split_project(tmp_path)
    k8s_file = root / "stacks" / f"Pulumi.{K8S}.yaml"
    k8s_file.write_text(k8s_file.read_text().replace("name: ailab-eu", "name: ailab-other"))
    with pytest.raises(
        BadInputError, match=f"Pulumi.{K8S}.yaml: its ailab:lab differs .* pulumi config cp -s {INFRA} --dest {K8S}"
    ):
        plan_lab(INFRA, find_project(root))


def _lab(aws_changes: dict[str, object], drop: tuple[str, ...] = ()) -> dict[str, object]:
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{INFRA}.yaml").read_text())
    lab = document["config"]["ailab:lab"]
    lab["aws"].update(aws_changes)
    for key in drop:
        del lab["aws"][key]
    return _plain_secrets(lab)


def _plain_secrets(node: object) -> object:
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            return "a-long-enough-plain-placeholder-secret-0123456789"
        return {k: _plain_secrets(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_secrets(v) for v in node]
    return node


def test_the_layer_setting_is_validated() -> None:
    assert parse_lab(_lab({"kubernetes_layer": LAYERS}, drop=("api_access",))).aws_settings().kubernetes_layer is not None
    with pytest.raises(BadInputError, match=r"kubernetes_stack.*also the infrastructure stack.*aws-eu-k8s"):
        parse_lab(_lab({"kubernetes_layer": {"infrastructure_stack": INFRA, "kubernetes_stack": INFRA}}))
    with pytest.raises(BadInputError, match=r"api_access.*no declared path.*kubernetes_layer"):
        parse_lab(_lab({}, drop=("api_access",)))
    with pytest.raises(BadInputError, match="kubernetes_stack"):
        parse_lab(_lab({"kubernetes_layer": {"infrastructure_stack": INFRA, "kubernetes_stack": "no spaces"}}))


def _findings(rule_id: str, records: list[Record]) -> list[str]:
    rule = all_rules()[rule_id]
    assert isinstance(rule, StackRule)
    outcomes = list(run_rule(rule, RecordSet(records), RuleContext()))
    assert not [o for o in outcomes if isinstance(o, Crash)]
    return [o.message for o in outcomes if not isinstance(o, Crash)]


@pytest.mark.parametrize("rule_id", ["AILAB-DEP-001", "AILAB-DEP-002", "AILAB-DEP-003", "AILAB-DEP-004", "AILAB-DEP-005"])
def test_the_deployability_rules_accept_the_split(split: Plan, rule_id: str) -> None:
    assert _findings(rule_id, records_from_plan(split.to_json(), INFRA)) == []


def test_without_the_reference_the_kubernetes_layer_is_unordered(split: Plan) -> None:
    """DEP-001 accepts the layer because it reads the cluster's stack, not because it is in another stack."""
    records = [
        replace(r, properties={"name": "organization/ailab/elsewhere"}) if r.type == STACK_REFERENCE else r
        for r in records_from_plan(split.to_json(), INFRA)
    ]
    assert any("is not ordered after any EKS node group" in message for message in _findings("AILAB-DEP-001", records))


def test_a_private_endpoint_only_the_vpc_reaches_is_a_path_for_a_layer_of_its_own(tmp_path: Path) -> None:
    split = plan_lab(INFRA, find_project(split_project(tmp_path, api_access=False)))
    records = records_from_plan(split.to_json(), INFRA)
    assert _findings("AILAB-DEP-003", records) == []
    infrastructure_only = [r for r in records if _stack_of_record(r) == INFRA]
    assert _findings("AILAB-DEP-003", infrastructure_only) == []  # CrossGuard on the infrastructure stack alone
    # The same endpoint with the Kubernetes layer in the cluster's own stack: nothing could reach it.
    provider = next(r for r in records if r.type == K8S_PROVIDER)
    moved = replace(provider, urn=provider.urn.replace(f"urn:pulumi:{K8S}::", f"urn:pulumi:{INFRA}::"))
    assert any("admits no network outside the VPC" in m for m in _findings("AILAB-DEP-003", [*infrastructure_only, moved]))


def _stack_of_record(record: Record) -> str:
    return record.urn.split("::")[0].removeprefix("urn:pulumi:")


def test_the_plan_view_shows_each_layer_and_counts_what_is_created(whole: Plan, split: Plan) -> None:
    from rich.console import Console

    from ailab.cli.plan_view import plan_tree, summary, type_counts

    console = Console(width=200, record=True)
    console.print(plan_tree(split))
    text = console.export_text()
    assert f"stack {INFRA}\n" in text and f"stack {K8S}\n" in text
    assert summary(split) == summary(whole)  # the StackReference is read, not created
    assert type_counts(split) == type_counts(whole)


def test_a_sandbox_reads_the_split_labs_infrastructure_stack(split_root: Path) -> None:
    """Sandboxes name the lab by its infrastructure stack (docs/deploy.md): it exports what they read."""
    from tests.sandbox.helpers import make_spec

    from ailab.sandbox.program import SANDBOX_PROJECT, connection_from_stack, sandbox_program

    spec, config = load_stack_spec(INFRA, find_project(split_root))
    _, exports = run_program_with_exports(
        run_lab_program,
        project="ailab",
        stack=INFRA,
        kind="lab",
        config=config.config,
        secret_keys=config.secret_keys,
        region=spec.region,
    )
    program = sandbox_program(make_spec(spec), spec, lambda: connection_from_stack(spec, INFRA))
    plan = run_program(
        program,
        project=SANDBOX_PROJECT,
        stack="2025-017-chatbot",
        kind="sandbox",
        references={f"organization/ailab/{INFRA}": exports},
    )
    assert plan.of_type(STACK_REFERENCE)[0].inputs == {"name": f"organization/ailab/{INFRA}"}
    assert plan.outputs["namespace"] == "audit-2025-017-chatbot"
    assert plan.outputs["mlflowCredentials"] == SECRET


def test_lab_validate_names_each_layer_and_refuses_a_stack_of_neither(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ailab.cli.app import app

    root = split_project(tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.delenv("AILAB_PROJECT_DIR", raising=False)
    result = CliRunner().invoke(app, ["lab", "validate"])
    assert result.exit_code == 0, result.output
    lines = " ".join(result.output.split())  # the console wraps at 80 columns
    assert f"ok {INFRA}: aws eu-central-1, 2 GPU pool(s), 3 profile(s), the infrastructure layer" in lines
    assert f"ok {K8S}: aws eu-central-1, 2 GPU pool(s), 3 profile(s), the kubernetes layer" in lines
    shutil.copy(root / "stacks" / f"Pulumi.{INFRA}.yaml", root / "stacks" / "Pulumi.aws-eu-other.yaml")
    result = CliRunner().invoke(app, ["lab", "validate", "--stack", "aws-eu-other"])
    assert result.exit_code == 2
    assert "stack aws-eu-other: lab.aws.kubernetes_layer names the stacks aws-eu and aws-eu-k8s" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output
