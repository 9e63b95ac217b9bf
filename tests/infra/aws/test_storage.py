"""The artifact bucket: SSE-KMS, versioning, public access block, owner-enforced, TLS only, lifecycle."""

from __future__ import annotations

from ailab.infra.aws.storage import lifecycle_rule
from ailab.spec.model import MlflowArtifacts

NAME = "ailab-artifacts"


def _config(lab, kind):
    return lab.named(NAME)[f"aws:s3/{kind[0].lower()}{kind[1:]}:{kind}"].inputs


def test_default_encryption_is_sse_kms_with_the_data_key_and_a_bucket_key(lab):
    (rule,) = _config(lab, "BucketServerSideEncryptionConfiguration")["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": lab.values["volume_key_arn"]}
    assert rule["bucketKeyEnabled"] is True
    assert rule["blockedEncryptionTypes"] == ["SSE-C"]


def test_versioning_public_access_block_and_ownership(lab):
    assert _config(lab, "BucketVersioning")["versioningConfiguration"]["status"] == "Enabled"
    block = _config(lab, "BucketPublicAccessBlock")
    assert [block[key] for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")] == [
        True
    ] * 4
    assert _config(lab, "BucketOwnershipControls")["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_every_setting_applies_to_the_artifact_bucket(lab):
    configs = [
        r
        for r in lab.plan.resources
        if r.type.startswith("aws:s3/bucket")
        and r.type != "aws:s3/bucket:Bucket"
        and lab.parent(r).type == "ailab:aws:ArtifactBucket"
    ]
    assert len(configs) == 6
    assert {config.inputs["bucket"] for config in configs} == {f"{NAME}-id"}


def test_bucket_policy_denies_everything_without_tls(lab):
    policy = lab.named(NAME)["aws:s3/bucketPolicy:BucketPolicy"]
    statements = {s["Sid"]: s for s in lab.statements(policy)}
    arn = f"arn:aws:s3:::{lab.values['artifact_bucket']}"
    insecure = statements["DenyInsecureTransport"]
    assert insecure["Effect"] == "Deny" and insecure["Action"] == ["s3:*"]
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert insecure["Resource"] == [arn, f"{arn}/*"]
    assert statements["DenyTlsBelow12"]["Condition"] == {"NumericLessThan": {"s3:TlsVersion": "1.2"}}
    assert all(s["Effect"] == "Deny" for s in statements.values())
    assert lab.named(NAME)["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"].urn in policy.dependencies


def test_lifecycle_follows_the_spec(lab):
    (rule,) = _config(lab, "BucketLifecycleConfiguration")["rules"]
    settings = lab.spec.mlflow.artifacts
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["transitions"] == [{"days": settings.transition_to_infrequent_access_days, "storageClass": "STANDARD_IA"}]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": settings.noncurrent_version_expiry_days}
    assert rule["expiration"] == {"days": settings.expire_after_days} == {"days": 3653}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_lifecycle_without_expiry_cleans_up_delete_markers():
    rule = lifecycle_rule(MlflowArtifacts(expire_after_days=None, transition_to_infrequent_access_days=60))
    assert rule.expiration.expired_object_delete_marker is True and rule.expiration.days is None
    assert [t.days for t in rule.transitions] == [60]


def test_lifecycle_skips_a_transition_that_would_come_after_expiry():
    rule = lifecycle_rule(MlflowArtifacts(expire_after_days=30, transition_to_infrequent_access_days=30))
    assert rule.transitions == [] and rule.expiration.days == 30
