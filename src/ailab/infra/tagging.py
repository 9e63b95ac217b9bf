"""Tags (AWS) and labels (Kubernetes) every resource of the lab carries."""

from __future__ import annotations

from ailab.spec import labels
from ailab.spec.model import LabSpec


def aws_tags(spec: LabSpec) -> dict[str, str]:
    """AWS tags for ``spec``'s resources: lab, owner, cost centre, data classification, the spec's extra tags, owner contact."""
    tags = {
        labels.AWS_TAG_LAB: spec.name,
        labels.AWS_TAG_OWNER: spec.tags.owner,
        labels.AWS_TAG_COST_CENTRE: spec.tags.cost_centre,
        labels.AWS_TAG_DATA_CLASSIFICATION: spec.tags.data_classification,
        **spec.tags.extra,
    }
    if spec.tags.owner_contact:
        tags[labels.AWS_TAG_OWNER_CONTACT] = spec.tags.owner_contact
    return tags


def k8s_labels(spec: LabSpec, component: str | None = None) -> dict[str, str]:
    """Kubernetes labels: ownership, cost centre and classification, plus the component name."""
    result = {
        labels.PART_OF: spec.name,
        labels.MANAGED_BY: "ailab",
        labels.OWNER: spec.tags.owner,
        labels.COST_CENTRE: spec.tags.cost_centre,
        labels.DATA_CLASSIFICATION: spec.tags.data_classification,
    }
    if component:
        result[labels.COMPONENT] = component
    return result


def k8s_annotations(spec: LabSpec) -> dict[str, str]:
    """Annotations for what is not a valid label value (the owner's e-mail address)."""
    return {labels.OWNER_CONTACT: spec.tags.owner_contact} if spec.tags.owner_contact else {}
