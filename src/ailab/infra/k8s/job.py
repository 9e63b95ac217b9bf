"""A run-once Kubernetes Job: one attempt, a deadline, and gone some time after it finishes.

A Job that retried would run an evaluation twice and log two MLflow runs for one submission; a
Job without a deadline could hold a sandbox's quota until the sandbox expires. Pulumi waits for a
Job to complete (or fail) before the update finishes, so the update's own timeout follows the
deadline instead of the provider's 10-minute default.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

AWAIT_MARGIN_SECONDS = 300
"""Beyond the Job's deadline: scheduling and the image pull happen before the deadline's clock starts."""


def run_once_job(
    resource_name: str,
    *,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    pod_labels: Mapping[str, str],
    pod_spec: k8s.core.v1.PodSpecArgs,
    deadline_seconds: int,
    ttl_seconds: int,
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.batch.v1.Job:
    """A Job of one pod that is never retried (``backoffLimit: 0``, ``restartPolicy: Never``).

    ``pod_spec`` comes from :func:`ailab.infra.k8s.pods.hardened_pod_spec` with ``restart_policy="Never"``.
    """
    if pod_spec.restart_policy != "Never":
        raise ValueError("a run-once Job's pods must have restartPolicy Never (a restarted pod is a retry)")
    wait = pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(
            create=f"{deadline_seconds + AWAIT_MARGIN_SECONDS}s", update=f"{deadline_seconds + AWAIT_MARGIN_SECONDS}s"
        )
    )
    return k8s.batch.v1.Job(
        resource_name,
        metadata=metadata,
        spec=k8s.batch.v1.JobSpecArgs(
            backoff_limit=0,
            completions=1,
            parallelism=1,
            active_deadline_seconds=deadline_seconds,
            ttl_seconds_after_finished=ttl_seconds,
            template=k8s.core.v1.PodTemplateSpecArgs(metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(pod_labels)), spec=pod_spec),
        ),
        opts=pulumi.ResourceOptions.merge(opts, wait),
    )
