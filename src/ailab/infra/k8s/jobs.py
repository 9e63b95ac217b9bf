"""The platform's CronJobs, one way: UTC schedule, never two runs at once, bounded history and run time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ailab.infra.k8s import meta
from ailab.spec.model import LabSpec


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
