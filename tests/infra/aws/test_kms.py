"""KMS keys: rotating, deletion window from the spec, narrow key policies; log groups encrypted and bounded."""

from __future__ import annotations

from ailab.infra.aws import names

KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def _keys(lab):
    """The symmetric lab keys (the trail's asymmetric signing key cannot rotate: tests/infra/aws/test_evidence.py)."""
    return {key.name.rsplit("-", 1)[-1]: key for key in lab.of_type(KEY) if lab.parent(key).type == "ailab:aws:Keys"}


def test_three_rotating_keys_with_aliases(lab):
    keys = _keys(lab)
    assert set(keys) == {"secrets", "logs", "data"}
    for key in keys.values():
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == lab.spec.aws.kms_deletion_window_days == 30
    aliases = sorted(alias.inputs["name"] for alias in lab.of_type("aws:kms/alias:Alias"))
    assert aliases == ["alias/ailab-data", "alias/ailab-logs", "alias/ailab-secrets", "alias/ailab-trail"]


def test_deletion_window_follows_the_spec(plan_variant):
    planned = plan_variant(**{"aws.kms_deletion_window_days": 7})
    assert {key.inputs["deletionWindowInDays"] for key in planned.of_type(KEY)} == {7}  # the signing key's too


def test_no_key_policy_opens_the_key_to_everyone(lab):
    for key in lab.of_type(KEY):
        for statement in lab.statements(key):
            if statement["Effect"] == "Deny":  # a deny only narrows (the trail key's "nobody else signs")
                continue
            principal = statement["Principal"]
            if principal.get("AWS") == "*":
                # Only with a condition pinning the caller to one role.
                assert statement["Condition"]["ArnEquals"]["aws:PrincipalArn"].endswith("/AWSServiceRoleForAutoScaling")
                assert "kms:*" not in statement["Action"] and "*" not in statement["Action"]
            elif "AWS" in principal:
                assert principal["AWS"] == "arn:aws:iam::123456789012:root"
            else:
                assert set(principal) == {"Service"}


def test_logs_key_serves_only_the_labs_log_groups(lab):
    statements = lab.statements(_keys(lab)["logs"])
    (logs,) = [s for s in statements if s["Principal"].get("Service") == "logs.eu-central-1.amazonaws.com"]
    groups = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    expected = [f"arn:aws:logs:eu-central-1:123456789012:log-group:{name}" for name in names.log_groups(lab.spec)]
    assert groups == expected
    assert all(s["Principal"].get("Service") is None for s in lab.statements(_keys(lab)["secrets"]))


def test_every_log_group_is_encrypted_with_the_logs_key_and_bounded(lab):
    groups = lab.of_type(LOG_GROUP)
    assert sorted(group.inputs["name"] for group in groups) == sorted(names.log_groups(lab.spec))
    logs_key = {group.inputs["kmsKeyId"] for group in groups}
    assert len(logs_key) == 1
    assert logs_key.isdisjoint({lab.values["volume_key_arn"]})
    assert {group.inputs["retentionInDays"] for group in groups} == {365}


def test_log_retention_follows_the_spec(plan_variant):
    planned = plan_variant(**{"aws.log_retention_days": 90})
    assert {group.inputs["retentionInDays"] for group in planned.of_type(LOG_GROUP)} == {90}
