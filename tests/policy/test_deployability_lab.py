"""The deployability rules on the real example lab, planned offline: they pass on what the program builds
and catch the regressions they exist for when one edge or resource of the graph is taken away."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.policy.support import REPO

from ailab.plan.lab import plan_lab
from ailab.policy.loaders.plan import records_from_plan
from ailab.policy.model import Record, RecordSet, RuleContext, StackRule, all_rules
from ailab.policy.run import Crash, run_rule
from ailab.spec import find_project

ORDER_AND_PATH = ("AILAB-DEP-001", "AILAB-DEP-002", "AILAB-DEP-003", "AILAB-DEP-004")


@pytest.fixture(scope="module")
def records() -> list[Record]:
    plan = plan_lab("aws-eu", find_project(REPO))
    return records_from_plan(plan.to_json(), "aws-eu")


def findings(rule_id: str, records: list[Record]) -> list[str]:
    rule = all_rules()[rule_id]
    assert isinstance(rule, StackRule)
    outcomes = list(run_rule(rule, RecordSet(records), RuleContext()))
    assert not [o for o in outcomes if isinstance(o, Crash)]
    return [f"{o.record.name if o.record else ''}: {o.message}" for o in outcomes if not isinstance(o, Crash)]


@pytest.mark.parametrize("rule_id", ORDER_AND_PATH)
def test_the_example_lab_is_deployable(records, rule_id):
    assert findings(rule_id, records) == []


def _without_dependencies(records: list[Record], type_token: str, *names: str) -> list[Record]:
    drop = {r.urn for r in records if r.name in names}
    return [
        replace(r, dependencies=tuple(u for u in r.dependencies if u not in drop)) if r.type == type_token else r for r in records
    ]


def test_a_provider_that_stops_waiting_for_the_nodes_fails(records):
    provider = "pulumi:providers:kubernetes"
    stripped = _without_dependencies(records, provider, "ailab-nodes-system", "ailab-ebs-csi")
    found = findings("AILAB-DEP-001", stripped)
    kubernetes = [r for r in records if r.type.startswith("kubernetes:")]
    assert len(found) == len(kubernetes) + 1  # every object, and the provider itself


def test_a_cluster_that_stops_waiting_for_its_policy_fails(records):
    stripped = _without_dependencies(records, "aws:eks/cluster:Cluster", "ailab-eks-cluster-policy")
    assert findings("AILAB-DEP-002", stripped) == [
        "ailab-eks: EKS cluster ailab-eks is not ordered after ailab-eks-cluster-policy, a policy of its role"
    ]


def test_a_private_endpoint_without_its_transit_gateway_routes_fails(records):
    stripped = [r for r in records if not (r.type == "aws:ec2/route:Route" and "transitGatewayId" in r.properties)]
    (finding,) = findings("AILAB-DEP-003", stripped)
    assert "admits 10.200.0.0/24 to its private endpoint, but no Transit Gateway" in finding


def test_the_lab_ingresses_are_served_once_their_class_is_deployed(records):
    ingresses = [r for r in records if r.type == "kubernetes:networking.k8s.io/v1:Ingress"]
    assert ingresses
    classes = {r.properties["spec"]["ingressClassName"] for r in ingresses}
    served = records + [
        Record("kubernetes:networking.k8s.io/v1:IngressClass", name, f"urn:test::{name}", {"metadata": {"name": name}})
        for name in classes
    ]
    assert findings("AILAB-DEP-005", served) == []
    # With no class and no controller release left, every Ingress would wait for an address that never comes.
    bare = [r for r in served if r.type != "kubernetes:networking.k8s.io/v1:IngressClass" and "helm.sh" not in r.type]
    assert len(findings("AILAB-DEP-005", bare)) == len(ingresses)
