"""Supply chain: images pinned to a version or digest and pulled only from allowed registries;
Helm charts pinned to a version and fetched over HTTPS or OCI."""

from __future__ import annotations

from collections.abc import Iterator

from ailab.policy.model import MISSING, Record, RuleContext, Violation, resource_rule
from ailab.policy.rules import controls as c
from ailab.policy.rules.helpers.images import parse_image, registry_allowed
from ailab.policy.rules.helpers.pods import WORKLOAD_TYPES, containers
from ailab.policy.rules.helpers.tokens import HELM_RELEASE
from ailab.policy.rules.helpers.values import ev, is_unknown, mapping

_SUPPLY = [c.EUDPR_CONFIDENTIALITY, c.GDPR_CONFIDENTIALITY, c.ISO_SOFTWARE_INSTALLATION, c.ISO_CONFIGURATION]


@resource_rule(
    id="AILAB-SUP-001",
    title="Images are pinned to a version or a digest",
    severity="medium",
    rationale=(
        "An untagged or :latest image changes under the lab without review: the MLflow or Qdrant that was assessed "
        "is not the one that runs, and a compromised upstream push is pulled on the next restart."
    ),
    remediation="Reference images as registry/repository:version (e.g. ghcr.io/mlflow/mlflow:v3.1.1) or by @sha256 digest.",
    types=list(WORKLOAD_TYPES),
    controls=[*_SUPPLY, c.NSA_SECURE_IMAGES],
)
def pinned_images(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    for ref in containers(record):
        image = ref.image
        if not isinstance(image, str) or is_unknown(image):
            continue
        parsed = parse_image(image)
        if parsed.digest is None and parsed.tag in (None, "latest"):
            yield Violation(f"Container {ref.name} uses an unpinned image {image}", (ev(f"{ref.path}.image", image),))


@resource_rule(
    id="AILAB-SUP-002",
    title="Images come from allowed registries",
    severity="high",
    rationale=(
        "Every image runs with access to audit data; only registries the lab has assessed (MLflow, Qdrant, NVIDIA, "
        "Jupyter, Kubernetes, Docker official images by default) may supply them."
    ),
    remediation=(
        "Pull the image from an allowed registry (lab.supply_chain.allowed_registries), mirroring it there first "
        "if needed; write the registry explicitly (docker.io/library/postgres, not postgres)."
    ),
    types=list(WORKLOAD_TYPES),
    controls=[*_SUPPLY, c.CIS_EKS_REGISTRIES, c.NSA_SECURE_IMAGES],
)
def allowed_registries(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    allowed = ctx.allowed_registries
    for ref in containers(record):
        image = ref.image
        if not isinstance(image, str) or is_unknown(image):
            continue
        parsed = parse_image(image)
        if not registry_allowed(parsed, allowed):
            yield Violation(
                f"Container {ref.name} pulls {parsed.name}, which is not from an allowed registry",
                (ev(f"{ref.path}.image", image),),
            )


@resource_rule(
    id="AILAB-SUP-003",
    title="Helm releases pin a chart version from an HTTPS or OCI repository",
    severity="medium",
    rationale=(
        "A release without a chart version installs whatever the repository publishes next (the GPU operator runs "
        "privileged on every GPU node); a chart fetched over plain HTTP can be swapped in transit."
    ),
    remediation="Set version= on kubernetes.helm.v3.Release and fetch charts from an https:// or oci:// repository.",
    types=[HELM_RELEASE],
    controls=_SUPPLY,
)
def pinned_charts(record: Record, ctx: RuleContext) -> Iterator[Violation]:
    chart = record.properties.get("chart", MISSING)
    # A chart in the repository is versioned by it (a hidden chart may be one).
    local = is_unknown(chart) or (isinstance(chart, str) and chart.startswith((".", "/")))
    version = record.properties.get("version", MISSING)
    if not local and not is_unknown(version) and (not isinstance(version, str) or not version.strip()):
        yield Violation(f"Helm release {record.name} installs chart {chart} without a version", (ev("version", version),))
    repository = mapping(record.properties.get("repositoryOpts")).get("repo", MISSING)
    for path, location in (("repositoryOpts.repo", repository), ("chart", chart)):
        if isinstance(location, str) and location.lower().startswith("http://"):
            yield Violation(f"Helm release {record.name} fetches its chart over plain HTTP", (ev(path, location),))
