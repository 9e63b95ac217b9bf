"""What every section shares: the strict base model, located errors, pinned images, resources, passwords."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr

from ailab.spec.types import CpuQuantity, SizeQuantity

DataClassification = Literal["public", "internal", "confidential", "restricted"]
"""Data classification levels, least to most sensitive; sandboxes may not exceed the lab's."""

Loc = tuple[str | int, ...]

RFC1918_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""The private IPv4 networks of RFC 1918."""


class LocatedValueError(ValueError):
    """A cross-field error that knows the path of the field at fault (relative to ``lab``)."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors and a parsed spec is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The model classes a field's annotation may hold (through Annotated, Optional, unions, list and dict values)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return model_classes(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list, dict):
        args = typing.get_args(annotation)
        return [model for arg in (args[1:] if origin is dict else args) for model in model_classes(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$")


def check_narrow(networks: Iterable[IPv4Network], problem: str) -> None:
    """Refuse a network wider than a /8 (most of the internet, or of a private range): ``"<network> <problem>"``."""
    for network in networks:
        if network.prefixlen < 8:
            raise ValueError(f"{network} {problem}")


def check_image(value: str) -> str:
    """A container image pinned by tag or digest; ``:latest`` and untagged images are refused."""
    if not _IMAGE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an image reference; write registry/repository:tag, e.g. docker.io/qdrant/qdrant:v1.13.4"
        )
    name = value.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else None
    if "@sha256:" not in value and (tag is None or tag == "latest"):
        raise ValueError(f"{value!r} is not pinned; give an explicit version tag or an @sha256 digest, never :latest")
    return value


PinnedImage = Annotated[str, AfterValidator(check_image)]


class Resources(StrictModel):
    """CPU and memory a service container requests; limits equal requests (Guaranteed QoS)."""

    cpu: CpuQuantity = Field(default="500m", description="CPU quantity, e.g. 500m or 2.")
    memory: SizeQuantity = Field(default="1Gi", description="Memory quantity, e.g. 1Gi.")


def check_password(value: SecretStr) -> SecretStr:
    """Passwords ailab deploys are at least 16 characters (they are never typed by people)."""
    if len(value.get_secret_value()) < 16:
        raise ValueError("a password must be at least 16 characters")
    return value
