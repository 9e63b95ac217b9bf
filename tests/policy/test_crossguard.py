"""The CrossGuard validators, called directly with the argument objects the Pulumi analyzer builds."""

from __future__ import annotations

import ast

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy
from tests.policy.support import CRASHING, DEPLOYMENT, LATEST, NAMESPACE, PRIVILEGED, QUOTA_RULE, REPO, TEST_RULES

from ailab.policy.crossguard import build_policies, default_context, resource_validator, stack_validator
from ailab.policy.model import Record, RuleContext

OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _deployment_props(privileged: bool, image: str = "nginx:1.27") -> dict:
    return {
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "main", "image": image, "securityContext": {"privileged": privileged}}]}
            }
        },
    }


def _args(props: dict, provider: PolicyProviderResource | None = None) -> ResourceValidationArgs:
    # The analyzer hands validators an unknown-checking proxy over the deserialized properties.
    return ResourceValidationArgs(
        DEPLOYMENT, unknown_checking_proxy(props), "urn:pulumi:dev::lab::x::web", "web", OPTIONS, provider
    )


def _collect():
    reported: list[tuple[str, str | None]] = []
    return reported, lambda message, urn=None: reported.append((message, urn))


def test_policies_mirror_the_rules():
    policies = build_policies(TEST_RULES, RuleContext())
    assert [policy.name for policy in policies] == ["AILAB-TEST-001", "AILAB-TEST-002", "AILAB-TEST-003"]
    critical, medium, stack = policies
    assert isinstance(critical, ResourceValidationPolicy) and isinstance(stack, StackValidationPolicy)
    assert critical.enforcement_level == EnforcementLevel.MANDATORY
    assert medium.enforcement_level == EnforcementLevel.ADVISORY and stack.enforcement_level == EnforcementLevel.ADVISORY
    assert critical.severity.value == "critical"
    assert critical.description == "title of AILAB-TEST-001" and critical.remediation_steps == "fix AILAB-TEST-001"
    assert critical.framework.name == "Regulation (EU) 2018/1725 (EUDPR)" and critical.framework.reference == "Art. 33"
    assert critical.tags == ["cis-k8s", "eudpr"]


def test_resource_validator_reports_with_paths_not_values():
    reported, report = _collect()
    resource_validator(PRIVILEGED, RuleContext())(_args(_deployment_props(True)), report)
    assert reported == [
        ("[AILAB-TEST-001] container 'main' is privileged (at spec.template.spec.containers[0].securityContext.privileged)", None)
    ]
    reported.clear()
    resource_validator(PRIVILEGED, RuleContext())(_args(_deployment_props(False)), report)
    assert reported == []


def test_unknown_values_reach_rules_as_unknown_instead_of_raising():
    seen: list[Record] = []
    from tests.policy.support import make_rule

    spy = make_rule("AILAB-TEST-040", lambda record, context: seen.append(record) or ())
    props = _deployment_props(False, image=UNKNOWN_STRING_VALUE)
    provider = PolicyProviderResource(
        "pulumi:providers:kubernetes", {}, "urn:pulumi:dev::lab::pulumi:providers:kubernetes::k", "k"
    )
    report = _collect()[1]
    resource_validator(spy, RuleContext())(_args(props, provider), report)
    (record,) = seen
    assert record.get("spec.template.spec.containers[0].image") == "[unknown]"
    assert record.provider == "urn:pulumi:dev::lab::pulumi:providers:kubernetes::k"
    assert record.type == DEPLOYMENT and record.name == "web"
    resource_validator(LATEST, RuleContext())(_args(props), report)  # the real check does not crash on it either


def test_crashing_rule_is_reported_not_raised():
    reported, report = _collect()
    resource_validator(CRASHING, RuleContext())(_args(_deployment_props(False)), report)
    ((message, urn),) = reported
    assert message.startswith("[AILAB-TEST-004] rule could not run: KeyError") and urn is None


def _resource(type_token: str, name: str, props: dict, parent: PolicyResource | None = None) -> PolicyResource:
    return PolicyResource(
        type_token,
        unknown_checking_proxy(props),
        f"urn:pulumi:dev::lab::{type_token}::{name}",
        name,
        OPTIONS,
        None,
        parent,
        [],
        {},
    )


def test_stack_validator_names_the_resource():
    stack = _resource("pulumi:pulumi:Stack", "lab-dev", {})
    resources = [stack, _resource(NAMESPACE, "team-a", {"metadata": {"name": "team-a"}}, stack)]
    reported, report = _collect()
    stack_validator(QUOTA_RULE, RuleContext())(StackValidationArgs(resources), report)
    assert reported == [("[AILAB-TEST-003] namespace team-a has no ResourceQuota", f"urn:pulumi:dev::lab::{NAMESPACE}::team-a")]


def test_stack_validator_keeps_parents_and_dependencies():
    seen: list[Record] = []
    from tests.policy.support import make_rule

    spy = make_rule("AILAB-TEST-041", lambda records, context: seen.extend(records) or (), scope="stack")
    parent = _resource("ailab:k8s:Platform", "platform", {})
    child = _resource(NAMESPACE, "a", {}, parent)
    child.dependencies.append(parent)
    stack_validator(spy, RuleContext())(StackValidationArgs([parent, child]), _collect()[1])
    assert seen[1].parent == parent.urn and seen[1].dependencies == (parent.urn,)


def test_default_context_is_the_eu_and_the_default_registries():
    context = default_context()
    assert "eu-central-1" in context.allowed_regions and "us-east-1" not in context.allowed_regions
    assert "registry.k8s.io" in context.allowed_registries


def test_default_context_builds_no_pydantic_models():
    """The pack's start-up: the defaults come from the spec's light modules, not from its models."""
    import subprocess
    import sys

    code = "import sys; from ailab.policy.crossguard import default_context; default_context(); print('pydantic' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip() == "False"


def test_pack_entry_point_builds_the_pack_and_nothing_else_does():
    """PolicyPack starts a gRPC server: only policies/__main__.py may construct one."""
    main = ast.parse((REPO / "policies" / "__main__.py").read_text())
    calls = [node.func.id for node in ast.walk(main) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "PolicyPack" in calls and "build_policies" in calls
    for path in (REPO / "src" / "ailab").rglob("*.py"):
        assert "PolicyPack(" not in path.read_text(), path


def test_pack_files():
    import yaml

    pack = yaml.safe_load((REPO / "policies" / "PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["name"] == "python" and pack["version"]
    assert "pulumi-policy" in (REPO / "policies" / "requirements.txt").read_text()


def test_whole_catalogue_builds():
    from ailab.policy.model import all_rules

    policies = build_policies()
    assert len(policies) == len(all_rules())
    assert len({policy.name for policy in policies}) == len(policies)


def test_resource_policy_ignores_types_its_rule_does_not_check():
    """CrossGuard calls every resource policy for every resource; a Deployment rule must not judge a Service."""
    reported, report = _collect()
    args = _args(_deployment_props(True))
    args.resource_type = "kubernetes:core/v1:Service"
    resource_validator(PRIVILEGED, RuleContext())(args, report)
    assert reported == []


def test_a_removed_api_version_is_checked_as_its_current_kind():
    reported, report = _collect()
    old = ResourceValidationArgs(
        "kubernetes:extensions/v1beta1:Deployment",
        unknown_checking_proxy(_deployment_props(True)),
        "urn:pulumi:dev::lab::kubernetes:extensions/v1beta1:Deployment::web",
        "web",
        OPTIONS,
        None,
    )
    resource_validator(PRIVILEGED, RuleContext())(old, report)
    assert [message for message, _ in reported] == [
        "[AILAB-TEST-001] container 'main' is privileged (at spec.template.spec.containers[0].securityContext.privileged)"
    ]
