"""Container image references: parsed, and checked against the allowed registries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A container image reference, normalised the way the container runtime resolves it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """``registry/repository`` (``docker.io/library/postgres`` for ``postgres:16``)."""
        return f"{self.registry}/{self.repository}"


@lru_cache(maxsize=4096)
def parse_image(reference: str) -> ImageRef:
    """Split ``[registry/]repository[:tag][@digest]``; Docker Hub names get ``docker.io`` (and ``library/``)."""
    rest, _, digest = reference.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
        if "/" not in path:
            path = f"library/{path}"
    repository, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    return ImageRef(registry, repository, tag if colon else None, digest or None)


def registry_allowed(image: ImageRef, allowed: Iterable[str]) -> bool:
    """True when the image name lies under one of the allowed prefixes (whole path segments only)."""
    name = image.name
    for prefix in allowed:
        prefix = prefix.rstrip("/")
        if name == prefix or name.startswith(prefix + "/"):
            return True
    return False
