"""Loading YAML and JSON a user hands us, safely and with line numbers.

Used by the stack-file loader and the policy input loaders. Guarantees:

* only the safe YAML constructors (no Python objects);
* inputs above ``max_bytes`` are refused before parsing;
* alias bombs (aliases that expand to more than ``max_nodes`` nodes) and recursive
  aliases are refused, since traversing their result would exhaust memory;
* duplicate mapping keys are errors (PyYAML would silently keep the last one);
* every error is a :class:`~ailab.errors.BadInputError` naming ``file:line``.

It is also fast enough for 10,000 manifests: plain strings, numbers, mappings and sequences
are built straight from the composed nodes (PyYAML's generic constructor is three times
slower), the alias-expansion walk only runs on documents that can contain an anchor, and
the cyclic garbage collector is paused while a document's objects are created.
"""

from __future__ import annotations

import gc
import json
import re
import stat
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ailab.errors import BadInputError

DEFAULT_MAX_BYTES = 64 * 2**20
DEFAULT_MAX_NODES = 5_000_000

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"

_TAG_CACHE_SIZE = 65_536
_TAG_CACHE_VALUE = 64
_tags: dict[str, str] = {}


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]  # the C loader when PyYAML has it
    """The safe loader, remembering the tags of short plain scalars (keys, enums, numbers): the composer asks for
    every scalar, and PyYAML's resolver tries a handful of regular expressions each time."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            tag = _tags.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                # Only plain scalars, whose tag depends on their text alone; bounded, as one process may read much.
                if len(value) <= _TAG_CACHE_VALUE and len(_tags) < _TAG_CACHE_SIZE:
                    _tags[value] = tag
            return tag
        resolved: str = super().resolve(kind, value, implicit)
        return resolved


# An anchor's "&" follows the start, white space or a flow indicator; text without such an "&"
# has no anchors, hence no aliases, and cannot expand: the expansion walk is skipped for it.
_MAYBE_ANCHOR = re.compile(r"(?:^|[\s\[{,:\ufeff])&")

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
    """Read a UTF-8 regular file, refusing one above ``max_bytes`` (see :func:`read_bytes`)."""
    data = read_bytes(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInputError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a regular file, refusing one above ``max_bytes``.

    The size is checked twice: by ``stat`` first (a clear message without reading), then by reading
    at most one byte more than allowed, since a file may grow, or lie about its size, in between.
    Devices, FIFOs and sockets are refused before they are opened: ``/dev/zero`` never ends and a
    FIFO blocks until someone writes to it.
    """
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(status.st_mode):
            raise BadInputError(f"{path}: not a regular file (a device, FIFO or socket); give a file")
        if status.st_size > max_bytes:
            raise _too_large(path, status.st_size, max_bytes)
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _too_large(path, len(data), max_bytes)
        return data
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise BadInputError(f"{path}: is a directory; give a file") from None
    except PermissionError:
        raise BadInputError(f"{path}: permission denied; make it readable") from None
    except OSError as err:  # a symbolic link loop, a name too long, an I/O error
        raise BadInputError(f"{path}: cannot be read ({err.strerror or err}); check the path") from None
    except ValueError:  # os.stat refuses a path with a NUL byte
        raise BadInputError(f"{str(path)!r}: not a valid path (it contains a NUL byte); check the path") from None


class TooLargeError(BadInputError):
    """An input over its size limit: a caller that shares one limit among files says so in its own words."""


def _too_large(path: Path, size: int, max_bytes: int) -> BadInputError:
    return TooLargeError(
        f"{path}: {_human(size)} is over the {_human(max_bytes)} limit for one input; split it into smaller files"
    )


def _human(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count} bytes"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector: parsed data has no cycles, and its many allocations would
    otherwise trigger full collections over a growing heap (json.loads of 8 MB: 1.7 s instead of 0.15 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_yaml(
    text: str,
    source: str,
    *,
    track_lines: bool = True,
    line_depth: int | None = None,
    line_keys: Collection[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> list[Document]:
    """Parse every document of a YAML stream. Empty documents are skipped.

    ``track_lines`` records the line of every key and item in :attr:`Document.lines`;
    ``line_depth`` limits that to paths of at most so many segments, and ``line_keys`` to
    the paths below those top-level keys: ``line_depth=2, line_keys={"items"}`` gives just
    the lines of a Kubernetes List's items, which is much cheaper than every line.
    """
    if len(text) > max_bytes:
        raise BadInputError(f"{source}: input is over the {max_bytes / 2**20:.0f} MiB limit; split it into smaller files")
    may_expand = _MAYBE_ANCHOR.search(text) is not None
    loader = _Loader(text)
    documents: list[Document] = []
    try:
        index = 0
        with gc_paused():
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                if may_expand:
                    _check_expansion(node, source, max_nodes)
                lines: dict[Path_, int] = {}
                if track_lines and line_depth is None and line_keys is None:
                    _index_all_lines(node, lines)
                elif track_lines:
                    _index_lines(node, (), lines, -1 if line_depth is None else line_depth, line_keys)
                data = _construct(loader, node, source)
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


def load_json(text: str, source: str, *, track_lines: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Parse one JSON document; errors name the line and column.

    ``track_lines`` records the lines of the top-level keys and of the items of top-level
    arrays (``("items", 3)`` of a Kubernetes ``List``), at the cost of a second, cheap scan.
    """
    if len(text) > max_bytes:
        raise BadInputError(f"{source}: input is over the {max_bytes / 2**20:.0f} MiB limit; split it into smaller files")
    try:
        with gc_paused():
            data = json.loads(text)
            lines = _json_lines(text) if track_lines and isinstance(data, dict) else {}
        return Document(data, source, line=_line_at(text, len(text) - len(text.lstrip())), lines=lines)
    except json.JSONDecodeError as err:
        raise BadInputError(
            f"{source}:{err.lineno}:{err.colno}: JSON syntax error: {err.msg}; fix the JSON at that position"
        ) from None
    except RecursionError:
        raise BadInputError(f"{source}: JSON nested too deeply; refusing") from None
    except ValueError:  # json.loads refuses integers of more than 4,300 digits with a plain ValueError
        raise BadInputError(f"{source}: a number has more than 4,300 digits; refusing") from None


def load_json_line(line: str, where: str) -> dict[str, Any]:
    """One object of a JSON-lines file (``where`` is ``file:line``): duplicate keys and deep nesting are refused."""
    try:
        data = json.loads(line, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError) as err:  # RecursionError: a line nested thousands deep
        raise BadInputError(f"{where}: not JSON ({err}); one JSON object per line") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: not a JSON object; one object per line")
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would keep the last of two equal keys silently, as PyYAML would.
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"key {key!r} appears twice in one object; keep one")
        data[key] = value
    return data


def load_json_file(path: Path, *, track_lines: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    return load_json(read_text(path, max_bytes), str(path), track_lines=track_lines, max_bytes=max_bytes)


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, position: int) -> int:
    match = _JSON_SPACE.match(text, position)
    return match.end() if match else position


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _json_lines(text: str) -> dict[Path_, int]:
    """Lines of the top-level keys of a JSON object, and of the items of its array values.

    Walks only the top level of a document ``json.loads`` has already accepted, skipping
    each value with the C decoder's ``raw_decode``.
    """
    decoder = json.JSONDecoder()
    lines: dict[Path_, int] = {}
    line, counted = 1, 0

    def line_of(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    position = _skip_space(text, 0) + 1
    while True:
        position = _skip_space(text, position)
        if text[position] == "}":
            return lines
        key, position = json.decoder.scanstring(text, position + 1)  # type: ignore[attr-defined]
        lines[(key,)] = line_of(position)
        position = _skip_space(text, position) + 1  # past the ":"
        position = _skip_space(text, position)
        if text[position] == "[":
            position += 1
            index = 0
            while True:
                position = _skip_space(text, position)
                if text[position] == "]":
                    position += 1
                    break
                lines[(key, index)] = line_of(position)
                _, position = decoder.raw_decode(text, position)
                index += 1
                position = _skip_space(text, position)
                if text[position] == ",":
                    position += 1
        else:
            _, position = decoder.raw_decode(text, position)
        position = _skip_space(text, position)
        if text[position] == ",":
            position += 1


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


def _index_all_lines(root: yaml.Node, lines: dict[Path_, int]) -> None:
    """:func:`_index_lines` at any depth, under every key: iterative, and scalars are never visited as nodes
    (most nodes are scalars; this keeps full line tracking of a manifest to a few percent of its parse)."""
    scalar, mapping, sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
    pending: list[tuple[yaml.Node, Path_]] = [(root, ())]
    while pending:
        node, path = pending.pop()
        if type(node) is mapping:
            for key_node, value_node in node.value:
                key = key_node.value if type(key_node) is scalar else str(key_node.start_mark)
                child = (*path, key)
                lines[child] = key_node.start_mark.line + 1
                if type(value_node) is not scalar:
                    pending.append((value_node, child))
        elif type(node) is sequence:
            for position, item in enumerate(node.value):
                child = (*path, position)
                lines[child] = item.start_mark.line + 1
                if type(item) is not scalar:
                    pending.append((item, child))


def _index_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], depth: int, keys: Collection[str] | None = None) -> None:
    """Record the line of every key and item below ``node``, ``depth`` levels deep (``-1``: all), under ``keys`` only."""
    if depth == 0:
        return
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            if keys is not None and key not in keys:
                continue
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, depth - 1)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            child = (*path, position)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, depth - 1)


def _construct(loader: yaml.SafeLoader, node: yaml.Node, source: str) -> Any:
    """The Python value of a composed document, refusing duplicate keys; nesting past Python's stack is refused."""
    try:
        return _build(loader, node, source)
    except RecursionError:
        raise BadInputError(f"{source}:{node.start_mark.line + 1}: YAML nested too deeply; refusing") from None
    finally:
        # Values of other tags went through PyYAML's own constructor, which caches per document.
        loader.constructed_objects = {}
        loader.recursive_objects = {}


def _build(loader: yaml.SafeLoader, node: yaml.Node, source: str) -> Any:
    """Build plain strings, mappings and sequences directly; every other tag through the safe constructor.

    Plain-string children are taken inline rather than through a call each: they are most nodes.
    """
    tag = node.tag
    if tag == _STR and type(node) is yaml.ScalarNode:
        return node.value
    if tag == _MAP and type(node) is yaml.MappingNode:
        return _build_mapping(loader, node, source)
    if tag == _SEQ and type(node) is yaml.SequenceNode:
        return [
            item.value if item.tag == _STR and type(item) is yaml.ScalarNode else _build(loader, item, source)
            for item in node.value
        ]
    if type(node) is yaml.ScalarNode:
        constructor = loader.yaml_constructors.get(tag) or loader.yaml_constructors[None]
        try:
            return constructor(loader, node)
        except ValueError as err:  # 2027-02-30, 25:61:00, an integer of more than 4,300 digits
            raise _bad_scalar(node, source, err) from None
    return loader.construct_object(node, deep=True)


_SCALAR_KINDS = {
    "tag:yaml.org,2002:timestamp": "date or time",
    "tag:yaml.org,2002:int": "integer",
    "tag:yaml.org,2002:float": "number",
}


def _bad_scalar(node: yaml.ScalarNode, source: str, err: ValueError) -> BadInputError:
    kind = _SCALAR_KINDS.get(node.tag, node.tag.rsplit(":", 1)[-1])
    value = node.value if len(node.value) <= 40 else f"{node.value[:39]}…"
    reason = f"{len(node.value)} digits is too many" if "digits" in str(err) else str(err)
    return BadInputError(
        f"{source}:{node.start_mark.line + 1}: {value!r} is not a valid {kind} ({reason}); correct it, or quote it to keep it as text"
    )


def _build_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, source: str) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key_tag = key_node.tag
        if key_tag == _STR and type(key_node) is yaml.ScalarNode:
            key = key_node.value
        elif key_tag == _MERGE:
            return _build_merged_mapping(loader, node, source)
        else:
            key = _key(loader, key_node, source)
        if key in result:
            raise BadInputError(
                f"{source}:{key_node.start_mark.line + 1}: key {key!r} appears twice in the same mapping; keep one"
            )
        result[key] = (
            value_node.value
            if value_node.tag == _STR and type(value_node) is yaml.ScalarNode
            else _build(loader, value_node, source)
        )
    return result


def _build_merged_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, source: str) -> dict[Any, Any]:
    """A mapping with ``<<: *defaults``: PyYAML puts the merged pairs first; own keys may override them, not repeat each other."""
    own_count = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE)
    loader.flatten_mapping(node)
    split = len(node.value) - own_count
    merged = {_key(loader, key_node, source): _build(loader, value_node, source) for key_node, value_node in node.value[:split]}
    own = yaml.MappingNode(_MAP, node.value[split:], node.start_mark, node.end_mark)
    return {**merged, **_build_mapping(loader, own, source)}


def _key(loader: yaml.SafeLoader, key_node: yaml.Node, source: str) -> Any:
    key = _build(loader, key_node, source)
    try:
        hash(key)
    except TypeError:
        raise BadInputError(
            f"{source}:{key_node.start_mark.line + 1}: a mapping key must be a plain value, not a list or mapping"
        ) from None
    return key
