"""Kubernetes manifests (multi-document YAML, JSON, ``kind: List``) as records with Pulumi type tokens.

``apiVersion``/``kind`` map to the tokens the Kubernetes provider uses, so one rule serves a
plan and raw YAML alike: ``v1``/``Pod`` → ``kubernetes:core/v1:Pod``, ``apps/v1``/``Deployment``
→ ``kubernetes:apps/v1:Deployment``, and custom resources likewise (``kubernetes:<group>/<version>:<Kind>``).
Manifests have no URN; one is made from the file, the type and ``namespace/name``:
``urn:ailab:manifest::<file>::<type>::<namespace>/<name>``. Each record keeps its file and the
line where it starts, for SARIF.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ailab.errors import BadInputError
from ailab.policy.model import Record
from ailab.safeload import Document, load_json, load_yaml

_NOT_AN_OBJECT = "not a Kubernetes object (it needs apiVersion, kind and metadata.name); point --manifests at manifests only"
_tokens: dict[tuple[str, str], str] = {}


def records_from_manifest_text(text: str, source: str) -> list[Record]:
    """The objects of one manifest file: JSON when ``source`` ends in ``.json``, YAML otherwise."""
    if source.endswith(".json"):
        return records_from_documents([load_json(text, source, track_lines=True)])
    # Only the lines of List items are needed (documents carry their own start line).
    return records_from_documents(load_yaml(text, source, line_depth=2, line_keys=("items",)))


def records_from_documents(documents: Iterable[Document]) -> list[Record]:
    records: list[Record] = []
    for document in documents:
        data = document.data
        if not isinstance(data, Mapping):
            raise BadInputError(f"{document.source}:{document.line}: a {type(data).__name__}, {_NOT_AN_OBJECT}")
        items = data.get("items")
        kind = data.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            for index, item in enumerate(items):
                records.append(_record(item, document.source, document.line_of(("items", index))))
        else:
            records.append(_record(data, document.source, document.line))
    return records


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi Kubernetes type token of ``apiVersion``/``kind`` (``v1``/``Pod`` → ``kubernetes:core/v1:Pod``)."""
    key = (api_version, kind)
    token = _tokens.get(key)
    if token is None:
        group, _, version = api_version.rpartition("/")
        token = _tokens[key] = f"kubernetes:{group or 'core'}/{version}:{kind}"
    return token


def _record(data: Any, source: str, line: int) -> Record:
    if not isinstance(data, Mapping):
        raise BadInputError(f"{source}:{line}: a {type(data).__name__}, {_NOT_AN_OBJECT}")
    api_version, kind, metadata = data.get("apiVersion"), data.get("kind"), data.get("metadata")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        raise BadInputError(f"{source}:{line}: apiVersion or kind missing, {_NOT_AN_OBJECT}")
    if api_version.count("/") > 1:
        raise BadInputError(f"{source}:{line}: apiVersion {api_version!r} is not <group>/<version> or <version>; fix it")
    if not isinstance(metadata, Mapping):
        raise BadInputError(f"{source}:{line}: {kind!r} has no metadata, {_NOT_AN_OBJECT}")
    name = metadata.get("name") or metadata.get("generateName")
    if not isinstance(name, str):
        raise BadInputError(f"{source}:{line}: {kind!r} has no metadata.name; give it one")
    namespace = metadata.get("namespace")
    token = type_token(api_version, kind)
    qualified = f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return Record(
        type=token,
        name=name,
        urn=f"urn:ailab:manifest::{source}::{token}::{qualified}",
        properties=data,
        source=source,
        line=line,
    )
