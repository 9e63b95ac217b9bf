"""Loading YAML and JSON a user hands us, safely and with line numbers.

Used by the stack-file loader and the policy input loaders. Guarantees:

* only the safe YAML constructors (no Python objects);
* inputs above ``max_bytes`` are refused before parsing;
* alias bombs (aliases that expand to more than ``max_nodes`` nodes) and recursive
  aliases are refused, since traversing their result would exhaust memory;
* duplicate mapping keys are errors (PyYAML would silently keep the last one);
* every error is a :class:`~ailab.errors.BadInputError` naming ``file:line``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ailab.errors import BadInputError

DEFAULT_MAX_BYTES = 64 * 2**20
DEFAULT_MAX_NODES = 5_000_000

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One YAML/JSON document and where it came from."""

    data: Any
    source: str
    index: int = 0
    line: int = 1
    lines: Mapping[Path_, int] = field(default_factory=dict)
    """1-based line of every mapping key and sequence item, by path (when tracked)."""

    def line_of(self, path: Path_) -> int:
        """The line of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return self.line


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Read a UTF-8 file, refusing one above ``max_bytes``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInputError(
                f"{path}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit for one input; split it into smaller files"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory; give a file") from None
    except UnicodeDecodeError as err:
        raise BadInputError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None
    except PermissionError:
        raise BadInputError(f"{path}: permission denied; make it readable") from None


def load_yaml(
    text: str,
    source: str,
    *,
    track_lines: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> list[Document]:
    """Parse every document of a YAML stream. Empty documents are skipped."""
    if len(text) > max_bytes:
        raise BadInputError(f"{source}: input is over the {max_bytes / 2**20:.0f} MiB limit; split it into smaller files")
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_expansion(node, source, max_nodes)
            lines: dict[Path_, int] = {}
            if track_lines:
                _index_lines(node, (), lines, source)
            data = loader.construct_document(node)
            if data is not None:
                documents.append(Document(data, source, index, node.start_mark.line + 1, lines))
            index += 1
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = err.problem or err.context or "invalid YAML"
        raise BadInputError(f"{where}: YAML syntax error: {problem}; fix the YAML at that position") from None
    except yaml.YAMLError as err:
        raise BadInputError(f"{source}: YAML error: {err}".replace("\n", " ")) from None
    finally:
        loader.dispose()
    return documents


def load_yaml_file(path: Path, *, track_lines: bool = True, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Document]:
    return load_yaml(read_text(path, max_bytes), str(path), track_lines=track_lines, max_bytes=max_bytes)


def load_json(text: str, source: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Parse one JSON document; errors name the line and column."""
    if len(text) > max_bytes:
        raise BadInputError(f"{source}: input is over the {max_bytes / 2**20:.0f} MiB limit; split it into smaller files")
    try:
        return Document(json.loads(text), source)
    except json.JSONDecodeError as err:
        raise BadInputError(
            f"{source}:{err.lineno}:{err.colno}: JSON syntax error: {err.msg}; fix the JSON at that position"
        ) from None
    except RecursionError:
        raise BadInputError(f"{source}: JSON nested too deeply; refusing") from None


def load_json_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    return load_json(read_text(path, max_bytes), str(path), max_bytes=max_bytes)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _check_expansion(root: yaml.Node, source: str, max_nodes: int) -> None:
    """Refuse documents whose aliases expand past ``max_nodes`` (or refer to themselves)."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise BadInputError(f"{source}:{node.start_mark.line + 1}: recursive YAML alias; refusing")
        in_progress.add(key)
        total = 1
        for child in _children(node):
            total += size(child)
            if total > max_nodes:
                raise BadInputError(
                    f"{source}:{root.start_mark.line + 1}: YAML aliases expand to more than {max_nodes:,} nodes "
                    "(an alias bomb?); refusing"
                )
        in_progress.discard(key)
        sizes[key] = total
        return total

    # Nesting deeper than Python's stack is refused rather than crashing the caller.
    try:
        size(root)
    except RecursionError:
        raise BadInputError(f"{source}:{root.start_mark.line + 1}: YAML nested too deeply; refusing") from None


def _index_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            if key in seen:
                raise BadInputError(
                    f"{source}:{key_node.start_mark.line + 1}: key {key!r} appears twice in the same mapping; keep one"
                )
            seen.add(key)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            child = (*path, position)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, source)
