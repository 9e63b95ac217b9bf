"""docs/policy-rules.md is generated from the catalogue; this fails when someone forgets to regenerate it."""

from __future__ import annotations

from tests.policy.support import REPO, TEST_RULES

from ailab.policy.model import all_rules
from ailab.policy.reference import rules_markdown

DOC = REPO / "docs" / "policy-rules.md"


def test_committed_reference_is_current():
    expected = rules_markdown(all_rules().values())
    assert DOC.read_text() == expected, "docs/policy-rules.md is stale: run ailab policy rules --markdown docs/policy-rules.md"


def test_reference_content():
    text = rules_markdown(TEST_RULES)
    assert "3 rules." in text
    assert "| [AILAB-TEST-001](#ailab-test-001) | critical | title of AILAB-TEST-001 | cis-k8s, eudpr |" in text
    assert "## AILAB-TEST-003" in text and "- Scope: stack" in text
    assert "**Rationale.** why AILAB-TEST-001" in text and "**Remediation.** fix AILAB-TEST-001" in text
    assert "- Regulation (EU) 2018/1725 (EUDPR) Art. 33 — Security of processing" in text
    assert "- Applies to: `kubernetes:apps/v1:Deployment`" in text
