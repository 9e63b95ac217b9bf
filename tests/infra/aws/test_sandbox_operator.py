"""Sandbox operators on AWS: an assumable role and the reaper's IRSA role, mapped into the operator group, never cluster-admin."""

from __future__ import annotations

import json

from ailab.spec import naming

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
OPERATOR = "ailab-operators-sandbox-operator"
REAPER = "ailab-operators-reaper"


def test_operators_and_the_reaper_enter_as_the_operator_group_with_no_access_policy(lab):
    entries = {entry.name: entry.inputs for entry in lab.of_type(ENTRY)}
    for name in (OPERATOR, REAPER):
        assert entries[name]["type"] == "STANDARD"
        assert entries[name]["kubernetesGroups"] == [naming.sandbox_operator_group(lab.spec)] == ["ailab:sandbox-operators"]
    # The one access policy in the lab is the deployer's: nothing associates one with the operator or the reaper.
    operator_arns = {entries[OPERATOR]["principalArn"], entries[REAPER]["principalArn"]}
    associations = lab.of_type(ASSOCIATION)
    assert [a.name for a in associations] == ["ailab-eks-deployer-admin"]
    assert not operator_arns & {a.inputs["principalArn"] for a in associations}
    assert entries[OPERATOR]["principalArn"] != entries[REAPER]["principalArn"]


def test_only_the_named_principals_may_assume_the_operator_role(lab):
    role = lab.one(ROLE, OPERATOR)
    (trust,) = lab.statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"AWS": lab.spec.aws_settings().sandbox_operator_principals}
    assert trust["Action"] == ["sts:AssumeRole"] and trust["Effect"] == "Allow"
    assert role.inputs["maxSessionDuration"] == 3600


def test_the_reaper_role_trusts_exactly_its_service_account(lab):
    (trust,) = lab.statements(lab.one(ROLE, REAPER), "assumeRolePolicy")
    (condition,) = trust["Condition"].values()
    subjects = [value for key, value in condition.items() if key.endswith(":sub")]
    assert subjects == ["system:serviceaccount:ailab-system:ailab-reaper"]


def test_both_roles_may_use_only_the_sandbox_state_prefix_and_its_key(lab):
    reaper = lab.spec.sandbox.reaper
    for name in (OPERATOR, f"{REAPER}"):
        policy = next(p for p in lab.of_type(ROLE_POLICY) if p.name.startswith(name) and not p.name.endswith("-cluster"))
        statements = {s["Sid"]: s for s in lab.statements(policy)}
        assert statements["ListSandboxState"]["Resource"] == ["arn:aws:s3:::ailab-sandbox-state-123456789012"]
        assert statements["ListSandboxState"]["Condition"] == {"StringLike": {"s3:prefix": ["sandboxes/*"]}}
        assert statements["ReadWriteSandboxState"]["Resource"] == ["arn:aws:s3:::ailab-sandbox-state-123456789012/sandboxes/*"]
        assert "s3:DeleteBucket" not in statements["ReadWriteSandboxState"]["Action"]
        key = statements["UseTheStateKeyThroughS3"]
        assert key["Resource"] == [reaper.state_kms_key_arn]
        assert key["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}}
        assert set(statements) == {"ListSandboxState", "ReadWriteSandboxState", "UseTheStateKeyThroughS3"}


def test_the_operator_role_may_describe_the_lab_cluster_only(lab):
    """aws eks update-kubeconfig --role-arn calls DescribeCluster: without it an operator with only this role has no kubeconfig."""
    policy = lab.one(ROLE_POLICY, f"{OPERATOR}-cluster")
    (describe,) = lab.statements(policy)
    (cluster,) = lab.of_type("aws:eks/cluster:Cluster")
    assert describe["Action"] == ["eks:DescribeCluster"] and describe["Effect"] == "Allow"
    assert describe["Resource"] == [f"arn:aws:eks:eu-central-1:123456789012:cluster/{cluster.inputs['name']}"]
    assert cluster.inputs["name"] == lab.spec.cluster.name
    assert not [p for p in lab.of_type(ROLE_POLICY) if p.name.startswith(REAPER) and "eks:" in str(p.inputs["policy"])]


def test_no_principals_no_operator_role_and_no_reaper_no_irsa_role(plan_variant):
    plan = plan_variant(**{"aws.sandbox_operator_principals": [], "sandbox.reaper": None})
    assert not [r for r in plan.of_type(ROLE) if r.name in (OPERATOR, REAPER)]
    assert not [e for e in plan.of_type(ENTRY) if e.name in (OPERATOR, REAPER)]


def test_the_reaper_may_copy_its_trail_write_once_and_sign_with_the_trail_key(lab):
    """Exactly the calls of ailab.trail's S3Store and KmsSigner, on the reaper's prefix and the lab's keys, no delete."""
    policy = lab.one(ROLE_POLICY, f"{REAPER}-trail")
    assert policy.inputs["role"] == f"{REAPER}-id"  # the reaper's IRSA role, no other
    bucket = lab.values["evidence_bucket"]
    statements = {s["Sid"]: s for s in lab.statements(policy)}
    prefix = f"arn:aws:s3:::{bucket}/trail/reaper/*"
    assert statements == {
        "ListReaperTrail": {
            "Sid": "ListReaperTrail", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
            "Resource": [f"arn:aws:s3:::{bucket}"], "Condition": {"StringLike": {"s3:prefix": ["trail/reaper/*"]}},
        },
        "CopyReaperTrailOnce": {
            "Sid": "CopyReaperTrailOnce", "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectRetention"],
            "Resource": [prefix],
        },
        "ReadBackReaperTrail": {
            "Sid": "ReadBackReaperTrail", "Effect": "Allow", "Action": ["s3:GetObjectVersion"], "Resource": [prefix],
        },
        "SignReaperCheckpoints": {
            "Sid": "SignReaperCheckpoints", "Effect": "Allow", "Action": ["kms:Sign", "kms:GetPublicKey"],
            "Resource": [lab.values["trail_signing_key"]],
        },
        "UseTheEvidenceKeyThroughS3": {
            "Sid": "UseTheEvidenceKeyThroughS3", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [lab.values["volume_key_arn"]],  # the lab's data key, the evidence bucket's SSE-KMS key
            "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}},
        },
    }  # fmt: skip
    assert not [p for p in lab.of_type(ROLE_POLICY) if p.name.startswith(OPERATOR) and "Trail" in json.dumps(p.inputs)]


def test_the_signing_key_spares_only_the_reaper_from_its_deny(lab):
    """Without an operators' role nobody else signs; the reaper's role is the one ARN the deny leaves out."""
    key = lab.one("aws:kms/key:Key", "ailab-evidence-signing")
    statements = {s["Sid"]: s for s in lab.statements(key)}
    reaper_arn = "arn:aws:iam::123456789012:role/ailab-operators-reaper"  # the mock's ARN of the reaper's role
    assert statements["NobodyElseSigns"]["Effect"] == "Deny" and statements["NobodyElseSigns"]["Action"] == ["kms:Sign"]
    assert statements["NobodyElseSigns"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": reaper_arn}}
    assert "NobodySigns" not in statements and "OperatorsSign" not in statements


def test_no_reaper_no_trail_grant_and_nobody_signs(plan_variant):
    plan = plan_variant(**{"sandbox.reaper": None})
    assert not [p for p in plan.of_type(ROLE_POLICY) if p.name == f"{REAPER}-trail"]
    statements = {s["Sid"]: s for s in plan.statements(plan.one("aws:kms/key:Key", "ailab-evidence-signing"))}
    assert "NobodySigns" in statements and "NobodyElseSigns" not in statements
