"""MLflow's IRSA role: assumable by one service account only, limited to its bucket and key."""

from __future__ import annotations

from ailab.spec import naming


def _role(lab):
    return lab.one("aws:iam/role:Role", "ailab-mlflow")


def test_trust_is_the_cluster_oidc_provider_for_mlflows_service_account_only(lab):
    (trust,) = lab.statements(_role(lab), "assumeRolePolicy")
    provider = lab.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    issuer = provider.inputs["url"].removeprefix("https://")
    assert trust["Effect"] == "Allow"
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Principal"] == {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{issuer}"}
    namespace = naming.mlflow_namespace(lab.spec)
    assert trust["Condition"] == {
        "StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{namespace}:mlflow", f"{issuer}:aud": "sts.amazonaws.com"}
    }


def test_policy_reaches_only_the_artifact_bucket_and_its_key(lab):
    statements = lab.statements(lab.one("aws:iam/rolePolicy:RolePolicy", "ailab-mlflow"))
    arn = f"arn:aws:s3:::{lab.values['artifact_bucket']}"
    resources = {resource for s in statements for resource in s["Resource"]}
    assert resources == {arn, f"{arn}/artifacts/*", lab.values["volume_key_arn"]}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert all(action != "*" and not action.endswith(":*") for action in statement["Action"])
        assert "*" not in statement["Resource"]
    actions = {action for s in statements for action in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "kms:Decrypt", "kms:GenerateDataKey"}
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["ListArtifacts"]["Condition"] == {"StringLike": {"s3:prefix": ["artifacts/*"]}}
    assert by_sid["UseTheBucketKeyThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-central-1.amazonaws.com"}
    }


def test_mlflow_role_has_no_attached_policies(lab):
    attachments = lab.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if a.inputs["role"] == "ailab-mlflow"]


def test_no_identity_policy_of_the_lab_grants_a_bare_wildcard(lab):
    for policy in lab.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in lab.statements(policy):
            assert "*" not in statement["Action"] and "*" not in statement["Resource"], policy.name
