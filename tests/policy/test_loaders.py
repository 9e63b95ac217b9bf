from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.policy.support import DATA

from ailab.errors import BadInputError
from ailab.policy.loaders import (
    load_manifests,
    load_plan_file,
    load_preview_file,
    load_state_file,
    records_from_manifest_text,
    records_from_plan,
    records_from_preview,
    records_from_state,
)
from ailab.policy.loaders.manifests import type_token


def _json(name: str):
    return json.loads((DATA / name).read_text())


# --- offline plan ------------------------------------------------------------------------------


def test_plan_custom_resources_become_records():
    records = load_plan_file(DATA / "plan.json")
    assert [r.type for r in records] == ["pulumi:providers:aws", "aws:s3/bucketV2:BucketV2", "aws:rds/instance:Instance"]
    bucket = records[1]
    assert bucket.name == "artifacts"
    assert bucket.urn == "urn:pulumi:aws-eu::ailab::ailab:aws:Storage$aws:s3/bucketV2:BucketV2::artifacts"
    assert bucket.parent == "urn:pulumi:aws-eu::ailab::ailab:aws:Storage::storage"
    assert bucket.dependencies == ("urn:pulumi:aws-eu::ailab::pulumi:providers:aws::eu",)
    assert bucket.provider == "urn:pulumi:aws-eu::ailab::pulumi:providers:aws::eu"
    assert bucket.get("tags.owner") == "ai-lab"
    assert bucket.source == str(DATA / "plan.json") and bucket.line is None
    assert records[2].get("password") == "[secret]"


def test_plan_from_the_real_plan_format():
    """The loader reads what ailab.plan writes (without importing it in the policy package)."""
    from ailab.plan.graph import Plan, PlannedResource

    plan = Plan(
        "ailab",
        "dev",
        "lab",
        (
            PlannedResource("urn:a", "kubernetes:core/v1:Namespace", "ns", True, inputs={"metadata": {"name": "ns"}}),
            PlannedResource("urn:c", "ailab:k8s:Platform", "platform", False),
        ),
    )
    (record,) = records_from_plan(plan.to_json(), "plan")
    assert (record.type, record.name, record.namespace) == ("kubernetes:core/v1:Namespace", "ns", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "other"}, "not an ailab plan .format 'other'"),
        ([], "not an ailab plan .format 'list'"),
        ({"format": "ailab.plan/v1"}, "'resources' is missing"),
        ({"format": "ailab.plan/v1", "resources": [3]}, r"resources\[0\]: expected an object, found int"),
        ({"format": "ailab.plan/v1", "resources": [{"type": "t", "name": "n"}]}, "'urn' is missing"),
        (
            {"format": "ailab.plan/v1", "resources": [{"type": "t", "name": "n", "urn": "u", "inputs": "x"}]},
            r"inputs: expected an object",
        ),
        ({"format": "ailab.plan/v1", "resources": [{"type": "t", "name": "n", "urn": "u", "dependencies": "x"}]}, "dependencies"),
    ],
)
def test_plan_errors(data, message):
    with pytest.raises(BadInputError, match=message):
        records_from_plan(data, "plan.json")


# --- pulumi preview --json ----------------------------------------------------------------------


def test_preview_records_are_what_would_be_deployed():
    records = load_preview_file(DATA / "preview.json")
    assert [r.name for r in records] == ["eu", "mlflow", "artifacts"]  # stack, deletions skipped; replacement once
    rds = records[1]
    assert rds.get("password") == "[secret]"
    assert rds.get("kmsKeyId") == "[unknown]" and rds.get("port") == "[unknown]"
    assert rds.provider == "urn:pulumi:aws-eu::ailab::pulumi:providers:aws::eu"
    assert rds.dependencies == ("urn:pulumi:aws-eu::ailab::aws:kms/key:Key::data",)
    assert records[2].get("forceDestroy") is False  # the last new state of the replacement wins


def test_preview_without_changes_is_empty():
    assert records_from_preview({"changeSummary": {"same": 3}}, "p") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resources": []}, "not a Pulumi preview"),
        ({"steps": "x"}, "'steps' is not a list"),
        ({"steps": [{"op": "create", "newState": []}]}, r"steps\[0\].newState: expected an object"),
        ({"steps": [{"op": "create", "newState": {"custom": True}}]}, "'type' is missing"),
        ({"steps": [{"op": ["delete"], "newState": {}}]}, r"steps\[0\]: 'op' is not a string"),
        ({"steps": [{"op": {"kind": "delete"}, "newState": {}}]}, r"steps\[0\]: 'op' is not a string"),
    ],
)
def test_preview_errors(data, message):
    with pytest.raises(BadInputError, match=message):
        records_from_preview(data, "preview.json")


# --- pulumi stack export ------------------------------------------------------------------------


def test_state_records_hide_secrets_and_skip_deletions():
    records = load_state_file(DATA / "state.json")
    assert [r.name for r in records] == ["lab", "mlflow-admin", "ailab-mlflow", "gpu-1"]
    provider, secret, namespace, node = records
    assert provider.get("kubeconfig") == "[secret]"
    assert secret.get("stringData") == "[secret]"  # plaintext of --show-secrets too
    assert "hunter2" not in json.dumps([r.properties for r in records])
    assert secret.namespace == "ailab-mlflow"
    assert secret.provider == "urn:pulumi:onprem::ailab::pulumi:providers:kubernetes::lab"
    assert namespace.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert node.get("metadata.labels") == {"nvidia.com/gpu.present": "true"}  # read resource: outputs stand in


def test_state_accepts_a_bare_deployment():
    deployment = _json("state.json")["deployment"]
    assert len(records_from_state(deployment, "d")) == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": []}, "not a Pulumi stack export"),
        ({"deployment": {"resources": "x"}}, "'deployment.resources' is not a list"),
        ({"deployment": {"resources": [{"custom": True, "type": "t"}]}}, "'urn' is missing"),
    ],
)
def test_state_errors(data, message):
    with pytest.raises(BadInputError, match=message):
        records_from_state(data, "state.json")


@pytest.mark.parametrize("depth", [900, 2000])
def test_deeply_nested_properties_are_refused(depth):
    from ailab.safeload import load_json

    state = '{"type": "t", "urn": "u", "custom": true, "inputs": {"a": ' + "[" * depth + "]" * depth + "}}"
    text = '{"steps": [{"op": "create", "newState": ' + state + "}]}"
    with pytest.raises(BadInputError, match="nested too deeply"):
        records_from_preview(load_json(text, "p.json").data, "p.json")


def test_special_values():
    from ailab.policy.loaders.values import plain

    sig = "4dabf18193072939515e22adb298388d"
    assert plain({sig: "c44067f5952c0a294b673a41bacd8c17", "path": "x"}) == "[asset]"
    assert plain({sig: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "u"}) == "[resource]"
    assert plain({sig: "d0e6a833031e9bbcd3f4e8bde6ca49a4", "value": 3}) == 3
    assert plain({sig: "d0e6a833031e9bbcd3f4e8bde6ca49a4", "value": 3, "secret": True}) == "[secret]"
    assert plain({sig: "d0e6a833031e9bbcd3f4e8bde6ca49a4"}) == "[unknown]"
    assert plain({sig: "nonsense"}) == "[special]"
    assert plain(["dd056dcd-154b-4c76-9bd3-c8f88648b5ff", 1]) == ["[unknown]", 1]


# --- Kubernetes manifests -----------------------------------------------------------------------


def test_manifest_directory_walk():
    records = load_manifests([DATA / "manifests"])
    summary = [(r.type, r.name, Path(r.source).name, r.line) for r in records]
    assert summary == [
        ("kubernetes:apps/v1:Deployment", "web", "app.yaml", 2),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny", "app.yaml", 17),
        ("kubernetes:core/v1:Namespace", "team-a", "app.yaml", 29),
        ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "reader", "app.yaml", 33),
        ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "mlflow", "list.json", 6),
        ("kubernetes:core/v1:Pod", "job-", "list.json", 12),
    ]


def test_manifest_urn_and_properties():
    web = load_manifests([DATA / "manifests" / "app.yaml"])[0]
    assert web.urn == f"urn:ailab:manifest::{DATA / 'manifests' / 'app.yaml'}::kubernetes:apps/v1:Deployment::team-a/web"
    assert web.get("spec.template.spec.containers[0].securityContext.privileged") is True
    assert web.namespace == "team-a"
    reader = load_manifests([DATA / "manifests" / "app.yaml"])[3]
    assert reader.urn.endswith("::kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::reader")


def test_type_tokens():
    assert type_token("v1", "Pod") == "kubernetes:core/v1:Pod"
    assert type_token("apps/v1", "Deployment") == "kubernetes:apps/v1:Deployment"
    assert type_token("networking.k8s.io/v1", "NetworkPolicy") == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
    assert type_token("rbac.authorization.k8s.io/v1", "RoleBinding") == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


def test_typed_lists_are_unpacked():
    text = "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n"
    (record,) = records_from_manifest_text(text, "list.yaml")
    assert (record.name, record.line) == ("a", 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n", r"x.yaml:5: key 'name' appears twice"),
        ("kind: Pod\nmetadata: {name: a}\n", "x.yaml:1: apiVersion or kind missing"),
        ("apiVersion: v1\nkind: Pod\n", "x.yaml:1: 'Pod' has no metadata"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {labels: {}}\n", "'Pod' has no metadata.name"),
        ("apiVersion: a/b/c\nkind: Pod\nmetadata: {name: a}\n", "apiVersion 'a/b/c'"),
        ("apiVersion: v1\nkind: List\nitems:\n- 3\n", "x.yaml:4: a int, not a Kubernetes object"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Values.name }}}\n", "x.yaml:3: a mapping key must be a plain value"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: !!python/object:os.system x}\n", "could not determine a constructor"),
    ],
)
def test_manifest_errors_name_file_and_line(text, message):
    with pytest.raises(BadInputError, match=message):
        records_from_manifest_text(text, "x.yaml")


def test_json_manifest_errors():
    with pytest.raises(BadInputError, match=r"x.json:2:1: JSON syntax error"):
        records_from_manifest_text('{"a":\n}', "x.json")


def test_empty_directory_is_an_error(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(BadInputError, match=r"no \.yaml, \.yml, \.json files"):
        load_manifests([tmp_path])


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(BadInputError, match="no such file"):
        load_manifests([tmp_path / "absent.yaml"])


def test_alias_bomb_is_refused():
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(7)
    )
    with pytest.raises(BadInputError, match="alias bomb"):
        records_from_manifest_text(bomb, "bomb.yaml")


def test_oversized_input_is_refused(tmp_path):
    from ailab.safeload import read_text

    big = tmp_path / "big.yaml"
    big.write_text("apiVersion: v1\n" + "# padding\n" * 50)
    with pytest.raises(BadInputError, match=r"big.yaml: 515 bytes is over the 100 bytes limit for one input; split it"):
        read_text(big, max_bytes=100)


def test_anchors_and_merge_keys_still_work():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, labels: &l {team: x}}\n"
        "spec:\n  base: &b {cpu: 1, mem: 2}\n  merged:\n    <<: *b\n    mem: 3\n  copy: *l\n"
    )
    (record,) = records_from_manifest_text(text, "a.yaml")
    assert record.get("spec.merged") == {"cpu": 1, "mem": 3}
    assert record.get("spec.copy") == {"team": "x"}


# --- a repository folder: what is not a Kubernetes object is skipped, with a note ------------------


def _repository(root: Path) -> Path:
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\n"
    files = {
        "k8s/pod.yaml": pod,
        "k8s/kustomization.yaml": "resources:\n- pod.yaml\n",
        "k8s/overlay/kustomize.yml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../]\n",
        "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
        "chart/values.yaml": "image: {repository: x}\n",
        "chart/templates/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
        "chart/templates/broken.yaml": "{{- if .Values.x }}\napiVersion: v1\n{{- end }}\n",
        "deploy/helm-output.yaml": '{{ include "x" . }}\nkind: [\n',
        "ci.yml": "stages: [build]\nbuild: {script: [make]}\n---\n- name: an ansible play\n",
        "docker-compose.yml": "services: {web: {image: x}}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_repository_folder_skips_what_is_not_kubernetes_with_notes(tmp_path):
    notes: list[str] = []
    records = load_manifests([_repository(tmp_path)], notes)
    assert [(record.type, record.name) for record in records] == [("kubernetes:core/v1:Pod", "p")]
    text = "\n".join(notes)
    for expected in (
        "Chart.yaml: a Helm chart's metadata; skipped",
        "values.yaml: Helm values; skipped",
        "templates/deployment.yaml: a Helm template",
        "templates/broken.yaml: a Helm template",
        "helm-output.yaml: a template (it holds {{ }} and is not valid YAML)",
        "kustomization.yaml: a kustomization",
        "kustomize.yml:1: a kustomize Kustomization",
        "ci.yml: 2 document(s) with neither apiVersion nor kind (line 1, 4)",
        "docker-compose.yml: a Compose file",
    ):
        assert expected in text, text
    assert len(notes) == 9


def test_a_null_list_item_is_skipped_with_a_note():
    text = "apiVersion: v1\nkind: List\nitems:\n- null\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n-\n"
    notes: list[str] = []
    (record,) = records_from_manifest_text(text, "list.yaml", notes)
    assert record.name == "a"
    assert notes == ["list.yaml:4: items[0] of the List is null; skipped", "list.yaml:8: items[2] of the List is null; skipped"]


def test_a_broken_kubernetes_object_is_still_refused():
    # One of apiVersion and kind present: meant as an object, so bad input, not skipped.
    with pytest.raises(BadInputError, match="apiVersion or kind missing"):
        records_from_manifest_text("apiVersion: v1\nmetadata: {name: a}\n", "x.yaml")


def test_findings_point_at_the_property_at_fault():
    from ailab.policy.engine import evaluate
    from ailab.policy.model import all_rules

    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web, namespace: team-a}\n  spec:\n"
        "    template:\n      spec:\n        containers:\n        - name: app\n          image: x\n"
        "          securityContext:\n            privileged: true\n"
    )
    (record,) = records_from_manifest_text(text, "list.yaml")
    assert record.line == 4
    assert record.line_of("spec.template.spec.containers[0].securityContext.privileged") == 14
    assert record.line_of("spec.template.spec.containers[0].securityContext.runAsNonRoot") == 13  # absent: its parent
    assert record.line_of('metadata.labels["a.b/c"]') == 6
    report = evaluate([record], rules=[all_rules()["AILAB-K8S-002"]])
    (finding,) = report.failed()
    assert finding.line == 14
    (json_record,) = records_from_manifest_text(
        '{"apiVersion": "v1", "kind": "Pod",\n "metadata": {"name": "p"},\n "spec": {}}', "p.json"
    )
    assert json_record.line_of("spec.containers") == 3
