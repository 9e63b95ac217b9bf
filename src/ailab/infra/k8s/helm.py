"""The one way the lab installs a Helm chart: a ``helm.v3.Release`` (one resource whose values the
policy rules can read, where a ``helm.v4.Chart`` is a remote component opaque under the mock monitor),
into a namespace the platform made, rolled back whole when an install or upgrade fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MAX_HISTORY = 10


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repository: str


def release(
    resource_name: str,
    chart: Chart,
    *,
    release_name: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    timeout_s: int,
    parent: pulumi.Resource,
    after: Sequence[pulumi.Resource] = (),
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """``chart`` pinned to its version; ``atomic``: a failed upgrade rolls back instead of leaving half a release."""
    return k8s.helm.v3.Release(
        resource_name,
        k8s.helm.v3.ReleaseArgs(
            name=release_name,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            create_namespace=False,
            skip_crds=skip_crds or None,
            values=dict(values),
            atomic=True,
            cleanup_on_fail=True,
            timeout=timeout_s,
            max_history=MAX_HISTORY,
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
