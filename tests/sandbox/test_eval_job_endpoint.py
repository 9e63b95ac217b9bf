"""An endpoint plan's evaluation Job: the route its NetworkPolicy opens, the API key's own Secret, and the gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc
from tests.sandbox.helpers import make_spec, only
from tests.sandbox.test_eval_job import IMAGE, JOB, POLICY, SECRET, pod_spec, with_runner

from ailab.errors import BadInputError
from ailab.formats import SECRET as SECRET_MARKER
from ailab.plan.mocks import LabMocks
from ailab.plan.runner import run_program
from ailab.sandbox.evaljob import submit
from ailab.sandbox.evaljob.bundle import EvalBundle, collect
from ailab.sandbox.evaljob.endpoint import JOB_ENV, Endpoint, EndpointRoute, route
from ailab.sandbox.evaljob.program import EvalJob, MlflowLogin, eval_job_program, plan_job
from ailab.sandbox.program import EVAL_PROJECT, connection_from_spec
from ailab.spec.model import LabSpec
from ailab.spec.sections.sandbox import EgressRule

KEY = "sk-audit-9f8e7d6c5b4a"
KEY_ENV = "AUDITED_API_KEY"
OWN = "audit-2025-017-chatbot"
SETTING = "stacks/Pulumi.aws-eu.yaml: lab.sandbox.egress_allowlist"
ALLOWLIST = [
    EgressRule(name="package-mirror", cidr="10.40.250.10/32", ports=[443], description="mirror"),
    EgressRule(name="audited-vpc", cidr="10.60.0.0/16", ports=[80, 443], description="systems under audit"),
    EgressRule(name="audited-dns", cidr="10.61.0.0/24", ports=[8443], protocol="UDP", description="not TCP"),
]


@pytest.fixture(scope="module")
def lab(aws_lab: LabSpec) -> LabSpec:
    """The lab with a runner image and an allowlist that opens 80 and 443 to the audited systems' network."""
    runner = with_runner(aws_lab)
    return runner.model_copy(update={"sandbox": runner.sandbox.model_copy(update={"egress_allowlist": ALLOWLIST})})


def endpoint(url: str, key_env: str | None = KEY_ENV) -> Endpoint:
    return Endpoint(url, key_env, "plan.yaml:12: plan.target.endpoint.url")


def job_for(lab: LabSpec, url: str, key_env: str | None = KEY_ENV) -> EvalJob:
    sandbox = make_spec(lab, profile="cpu-small", group=None)
    files = {"plan.yaml": b"kind: EvaluationPlan\n", "qa.jsonl": b'{"question": "q", "answers": ["a"]}\n'}
    bundle = EvalBundle(sandbox.audit_id, "assistant", files)
    return EvalJob(sandbox, lab, bundle, IMAGE, route(endpoint(url, key_env), lab, OWN, SETTING))


def endpoint_rule(plan: Any) -> dict[str, Any]:
    """The policy's egress rule beyond DNS and MLflow: the endpoint's."""
    rules = only(plan, POLICY).inputs["spec"]["egress"]
    assert len(rules) == 3, rules
    rule: dict[str, Any] = rules[2]
    return rule


def test_an_ip_literal_inside_an_entry_opens_that_address_on_its_port(lab: LabSpec) -> None:
    found = route(endpoint("http://10.60.3.7/v1"), lab, OWN, SETTING)
    assert found == EndpointRoute(found.endpoint, "10.60.3.7", 80, networks=("10.60.3.7/32",), entries=("audited-vpc",))
    assert "10.60.3.7/32 on TCP 80, inside lab.sandbox.egress_allowlist entry audited-vpc" in found.summary()
    assert endpoint_rule(plan_job(job_for(lab, "https://10.60.3.7/v1"))) == {
        "to": [{"ipBlock": {"cidr": "10.60.3.7/32"}}],
        "ports": [{"protocol": "TCP", "port": 443}],
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://192.0.2.10/v1", "no entry contains 192.0.2.10 with port 80"),
        ("http://10.60.3.7:8080/v1", "no entry contains 10.60.3.7 with port 8080"),  # the network, not the port
        ("https://10.40.250.11/v1", "no entry contains 10.40.250.11 with port 443"),  # the port, not the address
        ("http://10.61.0.5:8443/v1", "no entry contains 10.61.0.5 with port 8443"),  # a UDP entry opens no HTTP
        ("http://[2001:db8::1]/v1", "no entry contains 2001:db8::1 with port 80"),
    ],
)
def test_an_ip_literal_outside_the_allowlist_is_refused_naming_the_setting(lab: LabSpec, url: str, why: str) -> None:
    with pytest.raises(BadInputError) as caught:
        route(endpoint(url), lab, OWN, SETTING)
    message = str(caught.value)
    assert message.startswith(f"{SETTING}: {why}, which plan.yaml:12: plan.target.endpoint.url names; add one")
    assert "\n" not in message


def test_a_dns_name_may_reach_every_entry_that_opens_its_port(lab: LabSpec) -> None:
    found = route(endpoint("https://assistant.audited.example/v1"), lab, OWN, SETTING)
    assert (found.host, found.port, found.namespace) == ("assistant.audited.example", 443, None)
    assert found.networks == ("10.40.250.10/32", "10.60.0.0/16") and found.entries == ("package-mirror", "audited-vpc")
    assert found.summary() == (
        "endpoint assistant.audited.example:443 is a DNS name: the Job may reach the lab.sandbox.egress_allowlist "
        "entries package-mirror (10.40.250.10/32), audited-vpc (10.60.0.0/16) on TCP 443"
    )
    assert endpoint_rule(plan_job(job_for(lab, "http://assistant.audited.example/v1"))) == {
        "to": [{"ipBlock": {"cidr": "10.60.0.0/16"}}],
        "ports": [{"protocol": "TCP", "port": 80}],
    }


def test_a_dns_name_without_an_entry_for_its_port_is_refused(lab: LabSpec) -> None:
    with pytest.raises(BadInputError) as caught:
        route(endpoint("http://assistant.audited.example:8000/v1"), lab, OWN, SETTING)
    assert str(caught.value).startswith(f"{SETTING}: no entry opens TCP port 8000, which plan.yaml:12")
    assert "add the network assistant.audited.example resolves to" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "namespace", "port"),
    [
        ("http://assistant.audited.svc.cluster.local:8000/v1", "audited", 8000),
        ("http://rag.audited-rag.svc/query", "audited-rag", 80),
        ("http://chatbot.audit-2025-017-chatbot.svc:8080/v1", OWN, 8080),  # deployed in the audit's own sandbox
    ],
)
def test_an_in_cluster_endpoint_opens_its_namespace_on_its_port(lab: LabSpec, url: str, namespace: str, port: int) -> None:
    found = route(endpoint(url), lab, OWN, SETTING)
    assert (found.namespace, found.port, found.networks) == (namespace, port, ())
    assert endpoint_rule(plan_job(job_for(lab, url))) == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}],
        "ports": [{"protocol": "TCP", "port": port}],
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://chatbot.audit-2025-099-other.svc/v1", "is in audit-2025-099-other, another audit's sandbox"),
        ("http://audited.svc/v1", "audited.svc is not a Service's name; write <service>.<namespace>.svc"),
        ("http://a.b.c.svc.cluster.local/v1", "is not a Service's name; write <service>.<namespace>.svc.cluster.local"),
    ],
)
def test_in_cluster_names_the_job_may_not_or_cannot_reach_are_refused(lab: LabSpec, url: str, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        route(endpoint(url), lab, OWN, SETTING)


def test_the_key_is_in_the_jobs_own_secret_under_its_variable(lab: LabSpec) -> None:
    plan = plan_job(job_for(lab, "http://assistant.audited.example/v1"))
    key_secret = only(plan, SECRET, "-endpoint-key")
    assert key_secret.inputs["stringData"] == SECRET_MARKER
    (container,) = pod_spec(plan)["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env[KEY_ENV] == {
        "name": KEY_ENV,
        "valueFrom": {"secretKeyRef": {"name": key_secret.inputs["metadata"]["name"], "key": "key"}},
    }
    assert key_secret.urn in only(plan, JOB).dependencies  # the pod starts only once its key is there


def test_without_api_key_env_there_is_no_key_secret(lab: LabSpec) -> None:
    plan = plan_job(job_for(lab, "http://assistant.audited.example/v1", key_env=None))
    assert not [r for r in plan.of_type(SECRET) if r.name.endswith("-endpoint-key")]
    assert len(only(plan, POLICY).inputs["spec"]["egress"]) == 3


def test_the_key_reaches_its_secret_and_never_the_plan_bundle(
    lab: LabSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real program with the real key: the values the provider would get, secrets unwrapped."""
    (tmp_path / "qa.jsonl").write_text('{"question": "q", "answers": ["a"]}\n')
    (tmp_path / "plan.yaml").write_text(f"target:\n  endpoint:\n    api_key_env: {KEY_ENV}\n")
    job = job_for(lab, "http://assistant.audited.example/v1")
    job = EvalJob(
        job.sandbox, lab, collect(job.sandbox.audit_id, "assistant", tmp_path / "plan.yaml", ["qa.jsonl"]), IMAGE, job.route
    )
    assert KEY.encode() not in b"".join(job.bundle.files.values())
    seen: dict[str, dict[str, Any]] = {}
    original = LabMocks.new_resource

    def recording(self: LabMocks, args: Any) -> Any:
        seen[args.name] = dict(args.inputs)
        return original(self, args)

    monkeypatch.setattr(LabMocks, "new_resource", recording)
    login = MlflowLogin("alice", "a-password-of-sixteen")
    program = eval_job_program(job, lambda: connection_from_spec(lab), login, KEY)
    run_program(program, project=EVAL_PROJECT, stack=job.stack_name, kind="evaluation")
    holding = [name for name, inputs in seen.items() if KEY in str(inputs)]
    assert holding == [f"{job.stack_name}-endpoint-key"]
    # Sent as a Pulumi secret: encrypted in the stack's state, masked in the engine's output.
    assert seen[holding[0]]["stringData"] == {rpc._special_sig_key: rpc._special_secret_sig, "value": {"key": KEY}}


def test_an_unset_key_is_a_missing_prerequisite(lab: LabSpec, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    job = job_for(lab, "http://assistant.audited.example/v1")
    assert any(f"the endpoint's API key in {KEY_ENV}" in item for item in submit.missing_prerequisites(job))
    monkeypatch.setenv(KEY_ENV, KEY)
    assert not any(KEY_ENV in item for item in submit.missing_prerequisites(job))


@pytest.mark.parametrize(
    "url",
    ["http://assistant.audited.example/v1", "https://10.60.3.7/v1", "http://assistant.audited.svc.cluster.local:8000/v1"],
)
def test_the_gate_passes_each_kind_of_route(lab: LabSpec, url: str) -> None:
    planned = submit.plan(job_for(lab, url))
    assert planned.gate.passed, planned.gate.verdict()
    assert planned.gate.verdict()["failed"] == {}


@pytest.mark.parametrize("name", ["MLFLOW_TRACKING_PASSWORD", "HOME"])
def test_a_key_variable_the_job_already_sets_is_refused(lab: LabSpec, name: str) -> None:
    """Two env entries of one name: the Job would get one of them, the key or its own MLflow password."""
    clashing = Endpoint("https://assistant.audited.example/v1", name, "plan.yaml:12: plan.target.endpoint.url")
    with pytest.raises(BadInputError) as caught:
        route(clashing, lab, OWN, SETTING)
    assert str(caught.value).startswith(f"plan.yaml:12: plan.target.endpoint.api_key_env: {name} is set by the evaluation Job")


def test_the_refused_names_are_the_jobs_own_environment(lab: LabSpec) -> None:
    """JOB_ENV follows the container: a variable added to the Job without it could be shadowed by an endpoint key."""
    job = only(plan_job(job_for(lab, "https://10.60.3.7/v1")), "kubernetes:batch/v1:Job").inputs
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert {item["name"] for item in container["env"]} - {KEY_ENV} <= JOB_ENV
