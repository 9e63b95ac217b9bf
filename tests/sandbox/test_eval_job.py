"""The evaluation Job (``ailab eval run PLAN --stack LAB``) as planned offline: its spec, its fences and its gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s
import pytest
from pydantic import ValidationError
from tests.sandbox.helpers import make_spec, only

from ailab.errors import BadInputError, MissingPrerequisiteError, OperationFailedError
from ailab.formats import SECRET as SECRET_MARKER
from ailab.infra.k8s.jobs import run_once_job
from ailab.plan.graph import Plan
from ailab.sandbox import manifests
from ailab.sandbox.evaljob import submit
from ailab.sandbox.evaljob.bundle import MAX_BUNDLE_BYTES, MOUNT, EvalBundle, collect
from ailab.sandbox.evaljob.program import DEADLINE_SECONDS, RESULT_PATH, TTL_SECONDS, EvalJob, plan_job
from ailab.sandbox.manifests import LabServices
from ailab.sandbox.request import SandboxSpec
from ailab.spec import labels, naming
from ailab.spec.model import LabSpec
from ailab.spec.sections.sandbox import SandboxSettings

REGISTRY = "registry.example.eu/ailab"
IMAGE = f"{REGISTRY}/ailab-eval@sha256:{'3f' * 32}"
JOB = "kubernetes:batch/v1:Job"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
ACCOUNT = "kubernetes:core/v1:ServiceAccount"


def with_runner(lab: LabSpec, image: str = IMAGE) -> LabSpec:
    """The lab with a runner image and its registry allowed (the example stacks set neither)."""
    registries = [*lab.supply_chain.allowed_registries, REGISTRY]
    return lab.model_copy(
        update={
            "sandbox": lab.sandbox.model_copy(update={"eval_runner_image": image}),
            "supply_chain": lab.supply_chain.model_copy(update={"allowed_registries": registries}),
        }
    )


def bundle(plan_name: str = "credit-q4") -> EvalBundle:
    return EvalBundle("2025-017-chatbot", plan_name, {"plan.yaml": b"kind: EvaluationPlan\n", "data/test.csv": b"a,y\n1,0\n"})


@pytest.fixture(scope="module")
def lab(aws_lab: LabSpec) -> LabSpec:
    return with_runner(aws_lab)


@pytest.fixture(scope="module")
def sandbox(lab: LabSpec) -> SandboxSpec:
    return make_spec(lab, profile="cpu-small", group=None)


@pytest.fixture(scope="module")
def job(lab: LabSpec, sandbox: SandboxSpec) -> EvalJob:
    return EvalJob(sandbox, lab, bundle(), IMAGE)


@pytest.fixture(scope="module")
def plan(job: EvalJob) -> Plan:
    return plan_job(job)


def pod_spec(plan: Plan) -> dict[str, Any]:
    spec: dict[str, Any] = only(plan, JOB).inputs["spec"]["template"]["spec"]
    return spec


def test_the_job_runs_once_with_a_deadline_and_is_cleaned_up(plan: Plan, job: EvalJob) -> None:
    record = only(plan, JOB)
    spec = record.inputs["spec"]
    assert record.inputs["metadata"]["namespace"] == "audit-2025-017-chatbot" == job.namespace
    assert spec["backoffLimit"] == 0 and spec["completions"] == 1 and spec["parallelism"] == 1
    assert spec["activeDeadlineSeconds"] == DEADLINE_SECONDS and spec["ttlSecondsAfterFinished"] == TTL_SECONDS
    assert spec["template"]["spec"]["restartPolicy"] == "Never"


def test_pulumi_waits_as_long_as_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pulumi awaits a Job's completion: its create may last the Job's deadline, not the provider's 10 minutes."""
    made: dict[str, Any] = {}
    monkeypatch.setattr(k8s.batch.v1, "Job", lambda name, **kwargs: made.update(kwargs))
    pod = k8s.core.v1.PodSpecArgs(containers=[], restart_policy="Never")
    run_once_job("x", metadata=k8s.meta.v1.ObjectMetaArgs(), pod_labels={}, pod_spec=pod, deadline_seconds=600, ttl_seconds=60)
    assert made["opts"].custom_timeouts.create == "900s"


def test_the_pod_meets_pod_security_restricted(plan: Plan) -> None:
    pod = pod_spec(plan)
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["privileged"] is False
    assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True and context["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    assert mounts[MOUNT]["readOnly"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"]["sizeLimit"] == "1Gi"
    # A sandbox workload: it runs beside the sandbox's pods, not on the shared services' system nodes.
    assert "nodeSelector" not in pod


def test_its_own_service_account_without_token(plan: Plan, job: EvalJob) -> None:
    account = only(plan, ACCOUNT)
    assert account.inputs["automountServiceAccountToken"] is False
    assert account.inputs["metadata"]["name"] == job.name == pod_spec(plan)["serviceAccountName"]
    assert pod_spec(plan)["serviceAccountName"] not in ("default", manifests.WORKLOAD_SA)


def test_the_image_is_the_labs_pinned_by_digest(plan: Plan) -> None:
    (container,) = pod_spec(plan)["containers"]
    assert container["image"] == IMAGE and "@sha256:" in container["image"]
    assert container["args"] == [f"{MOUNT}/plan.yaml", "--result", RESULT_PATH]
    assert container["terminationMessagePath"] == RESULT_PATH


def test_resources_are_guaranteed_and_within_the_sandbox_quota(plan: Plan, sandbox: SandboxSpec) -> None:
    (container,) = pod_spec(plan)["containers"]
    resources = container["resources"]
    assert (
        resources["requests"] == resources["limits"] == manifests.default_share(sandbox) == {"cpu": "1000m", "memory": "4096Mi"}
    )
    assert sandbox.profile.cpu == "4" and sandbox.profile.memory == "16Gi"


def test_mlflow_in_cluster_with_the_members_login_never_the_admins(plan: Plan, job: EvalJob, lab: LabSpec) -> None:
    (container,) = pod_spec(plan)["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["MLFLOW_TRACKING_URI"]["value"] == naming.mlflow_url(lab)
    assert env["MLFLOW_DISABLE_TELEMETRY"]["value"] == "true" and env["DO_NOT_TRACK"]["value"] == "true"
    login = only(plan, SECRET, "-mlflow-login")
    for variable, key in (("MLFLOW_TRACKING_USERNAME", "username"), ("MLFLOW_TRACKING_PASSWORD", "password")):
        reference = env[variable]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": login.inputs["metadata"]["name"], "key": key}
        assert "value" not in env[variable]
    # The whole login is secret (in the plan, and encrypted in Pulumi's state); whose it is, test_login_* shows.
    assert login.inputs["stringData"] == SECRET_MARKER
    assert not any(lab.mlflow.admin_username == item.get("value") for item in container["env"])


def test_plan_and_data_come_from_a_secret_at_their_places(plan: Plan) -> None:
    files = only(plan, SECRET, "-files")
    assert files.inputs["immutable"] is True
    volume = next(volume for volume in pod_spec(plan)["volumes"] if "secret" in volume)["secret"]
    assert volume["secretName"] == files.inputs["metadata"]["name"]
    assert {item["path"] for item in volume["items"]} == {"plan.yaml", "data/test.csv"}
    assert {item["key"] for item in volume["items"]} == {"file-0", "file-1"}


def test_egress_only_to_dns_and_mlflow(plan: Plan, lab: LabSpec) -> None:
    policy = only(plan, POLICY).inputs["spec"]
    pod_labels = only(plan, JOB).inputs["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"] and not policy.get("ingress")
    peers = [
        (peer, [(port["protocol"], port["port"]) for port in rule["ports"]]) for rule in policy["egress"] for peer in rule["to"]
    ]
    assert peers == [
        (
            {
                "namespaceSelector": {"matchLabels": {labels.NAMESPACE_NAME: "kube-system"}},
                "podSelector": {"matchLabels": dict(labels.KUBE_DNS)},
            },
            [("UDP", 53), ("TCP", 53)],
        ),
        (
            {
                "namespaceSelector": {"matchLabels": {labels.NAMESPACE_NAME: naming.mlflow_namespace(lab)}},
                "podSelector": {"matchLabels": {labels.NAME: "mlflow", labels.PART_OF: lab.name}},
            },
            [("TCP", naming.MLFLOW_PORT)],
        ),
    ]


def test_the_sandboxs_allowances_leave_the_jobs_pods_out(plan: Plan, lab: LabSpec, sandbox: SandboxSpec) -> None:
    """Policies add up: were the namespace's allowances to select the Job's pods, they would reach Qdrant and the allowlist."""
    pod_labels = only(plan, JOB).inputs["spec"]["template"]["metadata"]["labels"]
    services = LabServices("ailab-mlflow", "ailab-vectordb", "http://mlflow", "http://qdrant")
    for name, policy in manifests.network_policy_specs(lab, services).items():
        selector = policy.pod_selector
        if name == "default-deny":
            assert not selector.match_labels and not selector.match_expressions
            continue
        (expression,) = selector.match_expressions
        assert expression.operator == "NotIn" and pod_labels[expression.key] in expression.values


def test_the_gate_passes_the_job_in_its_sandbox(plan: Plan, job: EvalJob) -> None:
    planned = submit.plan(job)
    assert planned.gate.passed, planned.gate.verdict()
    assert planned.gate.verdict()["failed"] == {}


def test_on_premises_the_job_plans_and_passes_too(onprem_lab: LabSpec) -> None:
    lab = with_runner(onprem_lab)
    planned = submit.plan(EvalJob(make_spec(lab, stack="onprem", profile="cpu-small", group=None), lab, bundle(), IMAGE))
    assert planned.gate.passed, planned.gate.verdict()
    assert planned.plan.outputs["kubeContext"] == lab.onprem_settings().kubeconfig_context
    assert planned.plan.outputs["kubeconfig"] is None


def test_the_gate_blocks_an_image_from_an_unassessed_registry(aws_lab: LabSpec, sandbox: SandboxSpec) -> None:
    lab = aws_lab.model_copy(update={"sandbox": aws_lab.sandbox.model_copy(update={"eval_runner_image": IMAGE})})
    planned = submit.plan(EvalJob(sandbox, lab, bundle(), IMAGE))
    assert not planned.gate.passed
    assert planned.gate.verdict()["blocking"] == ["AILAB-SUP-002"]


def test_the_gate_blocks_an_unpinned_image(lab: LabSpec, sandbox: SandboxSpec) -> None:
    """The setting refuses it at load time; an image that slipped past (a latest tag) still meets the engine."""
    planned = submit.plan(EvalJob(sandbox, lab, bundle(), "docker.io/evil/runner:latest"))
    assert {"AILAB-SUP-001", "AILAB-SUP-002"} <= {finding.rule.id for finding in planned.gate.report.failed()}
    assert not planned.gate.passed


def test_long_plan_names_are_shortened_to_a_valid_name(lab: LabSpec, sandbox: SandboxSpec) -> None:
    long = EvalJob(sandbox, lab, bundle("p" * 63), IMAGE)
    assert len(long.name) == 63 and long.name.startswith("eval-ppp")
    assert long.name != EvalJob(sandbox, lab, bundle("p" * 62 + "q"), IMAGE).name
    assert EvalJob(sandbox, lab, bundle("short"), IMAGE).name == "eval-short"


def test_run_once_job_refuses_pods_that_restart() -> None:
    pod = k8s.core.v1.PodSpecArgs(containers=[], restart_policy="OnFailure")
    with pytest.raises(ValueError, match="restartPolicy Never"):
        run_once_job("x", metadata=k8s.meta.v1.ObjectMetaArgs(), pod_labels={}, pod_spec=pod, deadline_seconds=1, ttl_seconds=1)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (f"{REGISTRY}/ailab-eval:1.4.0", "has no digest; pin it as registry/repository@sha256:"),
        (f"{REGISTRY}/ailab-eval:latest", "is not pinned"),
        ("ailab-eval@sha256:abc", "is not an image reference"),
    ],
)
def test_the_setting_needs_a_digest(image: str, message: str) -> None:
    profiles = {"p": {"cpu": "1", "memory": "1Gi", "storage": "1Gi", "max_ttl": "1d", "default_ttl": "1d"}}
    with pytest.raises(ValidationError, match=message):
        SandboxSettings.model_validate({"profiles": profiles, "eval_runner_image": image})
    assert SandboxSettings.model_validate({"profiles": profiles, "eval_runner_image": IMAGE}).eval_runner_image == IMAGE


def test_collect_keeps_relative_places(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test.csv").write_bytes(b"a,y\n1,0\n")
    (tmp_path / "plan.yml").write_bytes(b"kind: EvaluationPlan\n")
    collected = collect("a-1", "p", tmp_path / "plan.yml", ["data/test.csv"])
    assert collected.files == {"plan.yaml": b"kind: EvaluationPlan\n", "data/test.csv": b"a,y\n1,0\n"}


@pytest.mark.parametrize("relative", ["../secret.csv", "/etc/passwd.csv", "plan.yaml"])
def test_collect_refuses_files_outside_the_plans_folder(tmp_path: Path, relative: str) -> None:
    (tmp_path / "plan.yml").write_bytes(b"x: 1\n")
    with pytest.raises(BadInputError, match="is not below the plan's folder; the in-sandbox mode mounts"):
        collect("a-1", "p", tmp_path / "plan.yml", [relative])


def test_collect_refuses_what_a_secret_cannot_hold(tmp_path: Path) -> None:
    (tmp_path / "plan.yml").write_bytes(b"x: 1\n")
    (tmp_path / "big.csv").write_bytes(b"0" * (MAX_BUNDLE_BYTES + 1))
    with pytest.raises(
        BadInputError, match=r"a Job in the sandbox mounts at most 900 KiB: evaluate a sample of the rows, or run it with --local"
    ):
        collect("a-1", "p", tmp_path / "plan.yml", ["big.csv"])


def test_missing_prerequisites_are_named_at_once(monkeypatch: pytest.MonkeyPatch, job: EvalJob) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", submit.USERNAME_ENV, submit.PASSWORD_ENV):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingPrerequisiteError) as caught:
        submit.require_prerequisites(job)
    message = str(caught.value)
    for needed in ("the Pulumi CLI", "a passphrase", "kubectl on PATH", "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"):
        assert needed in message
    assert "\n" not in message


def test_login_is_a_team_members_never_the_admins(monkeypatch: pytest.MonkeyPatch, job: EvalJob) -> None:
    monkeypatch.setenv(submit.PASSWORD_ENV, "a-password-of-sixteen")
    monkeypatch.setenv(submit.USERNAME_ENV, job.lab.mlflow.admin_username)
    with pytest.raises(BadInputError, match="is the lab's MLflow admin"):
        submit.login(job)
    monkeypatch.setenv(submit.USERNAME_ENV, "mallory")
    with pytest.raises(BadInputError, match="is not in the team of audit 2025-017-chatbot"):
        submit.login(job)
    monkeypatch.setenv(submit.USERNAME_ENV, "alice")
    member = submit.login(job)
    assert member.username == "alice" and member.password == "a-password-of-sixteen"


def test_offline_plan_keeps_the_data_secret(plan: Plan) -> None:
    """Data under audit may be personal data: Pulumi's state keeps it encrypted, and the plan shows no byte of it."""
    files = only(plan, SECRET, "-files")
    assert files.inputs["data"] == SECRET_MARKER
    assert "YSx5CjEsMAo=" not in str(plan.to_json())  # base64 of the CSV


def test_every_object_is_valid_for_the_clusters_version(plan: Plan, lab: LabSpec) -> None:
    """Strict against the Kubernetes OpenAPI schema of the lab's version (the plan hides Secrets' data whole)."""
    import kubernetes_validate

    objects = [r for r in plan.resources if r.custom and r.type.startswith("kubernetes:") and "providers" not in r.type]
    assert {r.type for r in objects} == {JOB, POLICY, SECRET, ACCOUNT}
    for resource in objects:
        manifest = {
            key: {"hidden": "c2VjcmV0"} if key in ("data", "stringData") and value == SECRET_MARKER else value
            for key, value in resource.inputs.items()
        }
        try:
            kubernetes_validate.validate(manifest, lab.cluster.kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{resource.type} {resource.name}: {'.'.join(map(str, error.path))}: {error.message}")


def fake_kubectl(folder: Path, monkeypatch: pytest.MonkeyPatch, message: str, status: int = 0) -> Path:
    """A kubectl on PATH that records its arguments (and the kubeconfig's mode) and prints ``message``."""
    calls = folder / "calls"
    script = folder / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {calls}\n'
        f'for a in "$@"; do [ -f "$a" ] && stat -c %a "$a" >> {calls}.mode; done\n'
        f"printf '%s' '{message}'\n"
        f"[ {status} -eq 0 ] || echo 'error: the server has asked for the client to provide credentials' >&2\n"
        f"exit {status}\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return calls


def test_the_result_is_the_runners_termination_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: EvalJob) -> None:
    calls = fake_kubectl(tmp_path, monkeypatch, '{"verdict":"pass","mlflow_run_id":"r1","checks":[]}')
    document = submit.read_result(job, {"job": "eval-credit-q4", "kubeconfig": "apiVersion: v1"}, None)
    assert document == {"verdict": "pass", "mlflow_run_id": "r1", "checks": []}
    arguments = calls.read_text(encoding="utf-8").splitlines()
    assert arguments[0] == "--kubeconfig" and arguments[2:4] == ["--namespace", "audit-2025-017-chatbot"]
    assert "batch.kubernetes.io/job-name=eval-credit-q4" in arguments
    assert arguments[-1] == 'jsonpath={.items[0].status.containerStatuses[?(@.name=="evaluate")].state.terminated.message}'
    # The AWS kubeconfig (a secret output) exists only for kubectl's call, readable by its owner alone.
    assert Path(f"{calls}.mode").read_text(encoding="utf-8").split() == ["600"]
    assert not Path(arguments[1]).exists()


def test_on_premises_kubectl_uses_the_labs_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: EvalJob) -> None:
    calls = fake_kubectl(tmp_path, monkeypatch, '{"verdict":"fail","checks":[]}')
    assert submit.read_result(job, {"kubeContext": "lab-admin"}, None)["verdict"] == "fail"
    assert calls.read_text(encoding="utf-8").splitlines()[:2] == ["--context", "lab-admin"]


@pytest.mark.parametrize(
    ("message", "failure", "expected"),
    [
        ('{"error":"plan.yaml:9: dataset.label: not binary"}', "Job failed", "eval-credit-q4 failed: plan.yaml:9: dataset.label"),
        ("", "error: Job has reached the specified deadline", "ended without a result (error: Job has reached the specified"),
        ("not json", None, "ended without a result (no termination message)"),
    ],
)
def test_a_job_without_a_result_is_an_error_naming_where_to_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: EvalJob, message: str, failure: str | None, expected: str
) -> None:
    fake_kubectl(tmp_path, monkeypatch, message)
    with pytest.raises(
        OperationFailedError, match="see: kubectl logs --namespace audit-2025-017-chatbot job/eval-credit-q4"
    ) as caught:
        submit.read_result(job, {}, failure)
    assert expected in str(caught.value)


def test_kubectl_refused_is_one_line_with_its_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, job: EvalJob) -> None:
    fake_kubectl(tmp_path, monkeypatch, "", status=1)
    with pytest.raises(OperationFailedError, match=r"\(error: the server has asked for the client to provide credentials\)"):
        submit.read_result(job, {}, None)
