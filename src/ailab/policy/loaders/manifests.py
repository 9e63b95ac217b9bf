"""Kubernetes manifests (multi-document YAML, JSON, ``kind: List``) as records with Pulumi type tokens.

``apiVersion``/``kind`` map to the tokens the Kubernetes provider uses, so one rule serves a
plan and raw YAML alike: ``v1``/``Pod`` → ``kubernetes:core/v1:Pod``, ``apps/v1``/``Deployment``
→ ``kubernetes:apps/v1:Deployment``, and custom resources likewise (``kubernetes:<group>/<version>:<Kind>``).
Manifests have no URN; one is made from the file, the type and ``namespace/name``:
``urn:ailab:manifest::<file>::<type>::<namespace>/<name>``. Each record keeps its file and the
line where it starts, for SARIF.

A repository folder holds YAML that is not Kubernetes objects; like kubescape and checkov, the
loader skips it with a note for the report rather than refusing the run: documents with neither
``apiVersion`` nor ``kind`` (CI files, docker-compose, Ansible, Helm ``values.yaml``), kustomize's
own ``kustomization.yaml`` (``kustomize.config.k8s.io``), and ``null`` items of a List. A document
that has one of ``apiVersion`` and ``kind`` is meant as a Kubernetes object, and a broken one is
still bad input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ailab.errors import BadInputError
from ailab.policy.kubernetes_apis import current_type, declared_type
from ailab.policy.model import Record
from ailab.safeload import Document, load_json, load_yaml

_NOT_AN_OBJECT = "not a Kubernetes object (it needs apiVersion, kind and metadata.name); point --manifests at manifests only"
_tokens: dict[tuple[str, str], str] = {}


_KUSTOMIZE_GROUP = "kustomize.config.k8s.io/"
"""kustomize's own files (Kustomization, Component): build inputs, never applied to a cluster."""


def records_from_manifest_text(text: str, source: str, notes: list[str] | None = None) -> list[Record]:
    """The objects of one manifest file: JSON when ``source`` ends in ``.json``, YAML otherwise.

    What is skipped (not a Kubernetes object, a ``null`` List item) is said in ``notes``, one line each.
    """
    # Every key's line is tracked, so findings point at the property at fault (about 0.1 s per 10,000 objects).
    documents = [load_json(text, source, track_lines=True)] if source.endswith(".json") else load_yaml(text, source)
    return records_from_documents(documents, notes if notes is not None else [])


def records_from_documents(documents: Sequence[Document], notes: list[str]) -> list[Record]:
    records: list[Record] = []
    skipped: list[int] = []
    for document in documents:
        data = document.data
        reason = _not_kubernetes(data)
        if reason == "":
            skipped.append(document.line)
            continue
        if reason is not None:
            notes.append(f"{document.source}:{document.line}: {reason}; skipped")
            continue
        items = data.get("items")
        kind = data.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
            for index, item in enumerate(items):
                line = document.line_of(("items", index))
                if item is None:
                    notes.append(f"{document.source}:{line}: items[{index}] of the {kind} is null; skipped")
                    continue
                records.append(_record(item, document, line, ("items", index)))
        else:
            records.append(_record(data, document, document.line, ()))
    if skipped:
        lines = ", ".join(str(line) for line in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        notes.append(
            f"{documents[0].source}: {len(skipped)} document(s) with neither apiVersion nor kind (line {lines}), "
            "not Kubernetes objects; skipped"
        )
    return records


def _not_kubernetes(data: Any) -> str | None:
    """Why a document is no Kubernetes object to check ("" when it is plainly none), or None when it is one."""
    if not isinstance(data, Mapping):
        return ""
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version is None and kind is None:
        return ""
    if isinstance(api_version, str) and api_version.startswith(_KUSTOMIZE_GROUP):
        return f"a kustomize {kind} (build input, not applied); check the output of kustomize build"
    return None


def type_token(api_version: str, kind: str) -> str:
    """The Pulumi Kubernetes type token of ``apiVersion``/``kind`` (``v1``/``Pod`` → ``kubernetes:core/v1:Pod``).

    A removed version of a kind whose schema is unchanged gets the current kind's token
    (``extensions/v1beta1``/``DaemonSet`` → ``kubernetes:apps/v1:DaemonSet``), so every rule checks it.
    """
    key = (api_version, kind)
    token = _tokens.get(key)
    if token is None:
        token = _tokens[key] = current_type(declared_type(api_version, kind))
    return token


def _record(data: Any, document: Document, line: int, line_path: tuple[str | int, ...]) -> Record:
    source = document.source
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
    declared = declared_type(api_version, kind)
    qualified = f"{namespace}/{name}" if isinstance(namespace, str) and namespace else name
    return Record(
        type=token,
        name=name,
        urn=f"urn:ailab:manifest::{source}::{declared}::{qualified}",
        properties=data,
        source=source,
        line=line,
        lines=document.lines,
        line_path=line_path,
    )
