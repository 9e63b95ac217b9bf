"""AWS regions whose data centres are in a member state of the European Union.

London (eu-west-2) and Zurich (eu-central-2) carry an ``eu-`` prefix but lie outside
the Union; an adequacy decision is not residency, so they are excluded like any other
region. The only way out is an explicit, justified override in the specification.
"""

from __future__ import annotations

EU_REGIONS: dict[str, str] = {
    "eu-central-1": "Frankfurt, Germany",
    "eu-west-1": "Ireland",
    "eu-west-3": "Paris, France",
    "eu-south-1": "Milan, Italy",
    "eu-south-2": "Aragón, Spain",
    "eu-north-1": "Stockholm, Sweden",
    "eusc-de-east-1": "AWS European Sovereign Cloud, Brandenburg, Germany",
}


def is_eu_region(region: str) -> bool:
    """True when ``region`` is an AWS region located in an EU member state."""
    return region in EU_REGIONS
