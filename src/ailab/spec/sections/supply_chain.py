"""The ``supply_chain`` section: where images may come from."""

from __future__ import annotations

from pydantic import Field

from ailab.spec.constants import DEFAULT_REGISTRIES
from ailab.spec.sections.common import StrictModel


class SupplyChainSpec(StrictModel):
    allowed_registries: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REGISTRIES), min_length=1, description="Image prefixes the lab may pull from."
    )
