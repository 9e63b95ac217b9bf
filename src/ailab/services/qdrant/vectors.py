"""Vector settings of a collection, checked without importing qdrant-client (slow to import).

The resource constructor checks them too, so a bad size or distance stops an offline plan.
"""

from __future__ import annotations

from ailab.errors import BadInputError

DISTANCES = ("Cosine", "Euclid", "Dot", "Manhattan")
"""The values of ``qdrant_client.models.Distance``."""


def check_vectors(vector_size: int, distance: str) -> None:
    """Raise :class:`ailab.errors.BadInputError` unless ``vector_size`` is positive and ``distance`` one of :data:`DISTANCES`."""
    if isinstance(vector_size, bool) or not isinstance(vector_size, int) or vector_size <= 0:
        raise BadInputError(f"Qdrant vector size must be a positive integer, got {vector_size!r}")
    if distance not in DISTANCES:
        raise BadInputError(f"Qdrant distance {distance!r} is not one of {', '.join(DISTANCES)}")
