"""Markers of the documents one layer of ailab writes and another reads, defined once for both.

``ailab.plan`` writes plans with these markers and ``ailab.policy`` reads them (and Pulumi's own
preview and state documents); the policy engine must not depend on ``ailab.plan``, so what the two
share lives in this bottom-layer module, which imports nothing of ailab.
"""

from __future__ import annotations

PLAN_FORMAT = "ailab.plan/v1"
"""The ``format`` field of an offline plan document (``docs/plan-format.md``)."""

SECRET = "[secret]"
"""In place of a secret value: no ciphertext or plaintext reaches a plan file, a rule or a report."""

UNKNOWN = "[unknown]"
"""In place of a value unknown until deployment (an output of another resource)."""

STACK_TYPE = "pulumi:pulumi:Stack"
"""Pulumi's type token of a stack's root resource: a parent only, never checked."""
