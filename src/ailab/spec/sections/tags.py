"""The ``tags`` section: ownership and classification of every resource."""

from __future__ import annotations

from pydantic import Field

from ailab.spec.sections.common import DataClassification, StrictModel
from ailab.spec.types import LabelValue


class TagsSpec(StrictModel):
    """Applied as AWS tags and Kubernetes labels to every resource that takes them."""

    owner: LabelValue = Field(min_length=1, description="Owning unit, as a label-safe value (e.g. ai-lab-unit).")
    owner_contact: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Contact e-mail of the owner (an annotation and AWS tag; not a valid label value).",
    )
    cost_centre: LabelValue = Field(min_length=1, description="Cost centre, label-safe.")
    data_classification: DataClassification = Field(
        description="Highest classification of data the lab may hold: public, internal, confidential or restricted."
    )
    extra: dict[str, str] = Field(default_factory=dict, description="More AWS tags (not labels).")
