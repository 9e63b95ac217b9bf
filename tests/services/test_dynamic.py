"""The dynamic providers as Pulumi ships them: pickled with dill, unpickled in another Python process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from ailab.services.mlflow import AuditExperimentProvider
from ailab.services.qdrant import AuditCollectionProvider

UNPICKLE = """
import base64, sys, dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
diff = provider.diff("id", {"a": 1}, {"a": 1})
print(type(provider).__module__, type(provider).__name__, diff.changes)
"""


@pytest.mark.parametrize("provider", [AuditExperimentProvider(), AuditCollectionProvider()])
def test_provider_loads_in_a_fresh_process(provider) -> None:
    # What Pulumi stores in the state and hands to its provider host: small, because the class is
    # pickled by reference (its module is importable), and no client or connection inside.
    serialized = serialize_provider(provider)
    assert len(serialized) < 1000
    loaded = subprocess.run([sys.executable, "-c", UNPICKLE], input=serialized, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == [type(provider).__module__, type(provider).__name__, "False"]
