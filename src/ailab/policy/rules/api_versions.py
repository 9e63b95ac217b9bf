"""Objects written against Kubernetes API versions a current cluster no longer serves.

Such an object is still checked by every other rule as its current kind (see
:mod:`ailab.policy.kubernetes_apis`); this rule reports the version itself: the manifest will
not apply to a current cluster, or is a copy of something that runs on an unsupported one.
"""

from __future__ import annotations

from collections.abc import Iterator

from ailab.policy.kubernetes_apis import REMOVED, current_type, declared_type, removal
from ailab.policy.model import Record, RuleContext, Violation, resource_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.values import ev

# The records an old version becomes: the current kind's token when it reads as one, else its own.
_TYPES = sorted({current_type(declared_type(api_version, kind)) for api_version, kind in REMOVED})


@resource_rule(
    id="AILAB-K8S-013",
    title="No removed or deprecated Kubernetes API versions",
    severity="medium",
    rationale=(
        "An object of an API version the cluster no longer serves (extensions/v1beta1 DaemonSets, batch/v1beta1 "
        "CronJobs, OpenShift DeploymentConfigs) is refused on apply, or documents workloads of an unsupported, "
        "unpatched cluster; either way what was reviewed is not what runs."
    ),
    remediation=(
        "Migrate the object to the API version named in the finding (kubectl convert, or pluto to find them all) "
        "and re-run the check."
    ),
    types=_TYPES,
    controls=[c.ISO_CONFIGURATION, c.EUDPR_SECURITY, c.GDPR_SECURITY],
)
def removed_api_version(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    api_version, kind = record.get("apiVersion"), record.get("kind")
    found = removal(api_version, kind)
    if found is None:
        return
    if found.removed_in == "deprecated":
        message = f"{kind} ({api_version}) is deprecated; use a {found.replacement}"
    else:
        message = f"{kind} {api_version} is no longer served since Kubernetes {found.removed_in}; use {found.replacement}"
    yield Violation(message, (ev("apiVersion", api_version),))
