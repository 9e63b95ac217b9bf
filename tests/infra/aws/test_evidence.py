"""The evidence bucket (Object Lock COMPLIANCE, versioned, SSE-KMS, TLS only, no delete) and the trail's signing key."""

from __future__ import annotations

import pytest

NAME = "ailab-evidence"


def _config(lab, kind):
    return lab.named(NAME)[f"aws:s3/{kind[0].lower()}{kind[1:]}:{kind}"].inputs


def test_the_bucket_is_locked_in_compliance_mode_with_the_spec_retention(lab):
    assert lab.named(NAME)["aws:s3/bucket:Bucket"].inputs["objectLockEnabled"] is True
    lock = _config(lab, "BucketObjectLockConfiguration")
    assert lock["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": lab.spec.evidence.retention_days}}
    assert _config(lab, "BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    assert (
        lab.named(NAME)["aws:s3/bucketVersioning:BucketVersioning"].urn
        in lab.named(NAME)["aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"].dependencies
    )


def test_sse_kms_public_access_block_and_a_separate_bucket(lab):
    (rule,) = _config(lab, "BucketServerSideEncryptionConfiguration")["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {
        "sseAlgorithm": "aws:kms",
        "kmsMasterKeyId": lab.values["volume_key_arn"],
    }
    block = _config(lab, "BucketPublicAccessBlock")
    assert all(block[key] for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    buckets = lab.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 2 and {b.name for b in buckets} == {NAME, "ailab-artifacts"}
    # The only lifecycle rule expires copies after their retention (Object Lock refuses any sooner).
    (rule,) = _config(lab, "BucketLifecycleConfiguration")["rules"]
    retention = lab.spec.evidence.retention_days
    assert rule["status"] == "Enabled" and rule["expiration"] == {"days": retention + 1}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": retention + 1}


def test_the_policy_denies_every_delete_and_plain_http(lab):
    statements = {s["Sid"]: s for s in lab.statements(lab.named(NAME)["aws:s3/bucketPolicy:BucketPolicy"])}
    deny = statements["DenyEveryDelete"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket"} <= set(deny["Action"])
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Effect"] == "Deny" for s in statements.values())


def test_the_signing_key_is_ed25519_and_nobody_signs_without_an_operators_role(lab, plan_variant):
    key = lab.one("aws:kms/key:Key", f"{NAME}-signing")
    assert key.inputs["customerMasterKeySpec"] == "ECC_NIST_EDWARDS25519" and key.inputs["keyUsage"] == "SIGN_VERIFY"
    assert lab.spec.evidence.signers_role_arn is None
    # The example's in-cluster reaper signs its own trail (test_sandbox_operator); without it, nobody does.
    no_reaper = plan_variant(**{"sandbox.reaper": None})
    statements = {s["Sid"]: s for s in no_reaper.statements(no_reaper.one("aws:kms/key:Key", f"{NAME}-signing"))}
    assert statements["NobodySigns"]["Effect"] == "Deny" and statements["NobodySigns"]["Action"] == ["kms:Sign"]
    alias = lab.one("aws:kms/alias:Alias", f"{NAME}-signing")
    assert alias.inputs["name"] == "alias/ailab-trail"


@pytest.mark.parametrize("role", ["arn:aws:iam::123456789012:role/ailab-operators"])
def test_only_the_operators_role_signs(plan_variant, role):
    variant = plan_variant(**{"evidence.signers_role_arn": role, "evidence.retention_days": 2555})
    statements = {s["Sid"]: s for s in variant.statements(variant.one("aws:kms/key:Key", f"{NAME}-signing"))}
    assert statements["OperatorsSign"] == {
        "Sid": "OperatorsSign", "Effect": "Allow", "Principal": {"AWS": role}, "Action": ["kms:Sign"], "Resource": ["*"]
    }  # fmt: skip
    reaper = "arn:aws:iam::123456789012:role/ailab-operators-reaper"  # the example's reaper signs its own trail
    assert statements["NobodyElseSigns"]["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [role, reaper]}}
    lock = variant.named(NAME)["aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"].inputs
    assert lock["rule"]["defaultRetention"]["days"] == 2555
