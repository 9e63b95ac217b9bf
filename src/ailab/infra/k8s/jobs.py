"""The lab's Jobs and CronJobs, one way each.

- A run-once Job (an evaluation): one attempt, a deadline, and gone some time after it finishes. A
  Job that retried would run an evaluation twice and log two MLflow runs for one submission; a Job
  without a deadline could hold a sandbox's quota until the sandbox expires. Pulumi waits for a Job
  to complete (or fail) before the update finishes, so the update's own timeout follows the deadline
  instead of the provider's 10-minute default.
- A CronJob (the reaper, database backups): UTC schedule, never two runs at once, bounded history and run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.spec.model import LabSpec

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


@dataclass(frozen=True)
class Schedule:
    """When a CronJob runs and how long a run may take."""

    cron: str
    """Standard cron syntax, in UTC."""
    starting_deadline_seconds: int
    """A run that could not start within this long (controller down, previous run still going) is skipped."""
    active_deadline_seconds: int
    """A run still going after this long is stopped."""
    backoff_limit: int
    """Retries of a failed run before it counts as failed."""


def cron_job(
    resource_name: str,
    spec: LabSpec,
    *,
    app: str,
    component: str,
    namespace: pulumi.Input[str],
    schedule: Schedule,
    pod: k8s.core.v1.PodSpecArgs,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> k8s.batch.v1.CronJob:
    """A CronJob named ``app`` whose pods carry ``app``'s selector labels (what network policies select them by).

    ``concurrencyPolicy: Forbid``: a run that is still going when the next is due makes that one
    wait (or be skipped after the starting deadline), never run beside it.
    """
    return k8s.batch.v1.CronJob(
        resource_name,
        metadata=meta.object_meta(spec, app, component, namespace),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=schedule.cron,
            time_zone="Etc/UTC",
            concurrency_policy="Forbid",
            starting_deadline_seconds=schedule.starting_deadline_seconds,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=k8s.batch.v1.JobTemplateSpecArgs(
                metadata=meta.object_meta(spec, None, component),
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=schedule.backoff_limit,
                    active_deadline_seconds=schedule.active_deadline_seconds,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=meta.object_meta(spec, None, component, extra_labels=meta.selector_labels(spec, app)),
                        spec=pod,
                    ),
                ),
            ),
        ),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
