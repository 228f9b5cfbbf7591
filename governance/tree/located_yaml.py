"""Reading YAML with source positions, so every later error can point at file:line:col."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

import yaml

from governance.errors import Location, Problem


class YamlMap(dict[str, Any]):
    """A mapping that remembers where it and each of its keys stand in the file."""

    line: int = 0
    column: int = 0
    key_positions: dict[str, tuple[int, int]]


class YamlList(list[Any]):
    """A sequence that remembers where it and each of its items stand in the file."""

    line: int = 0
    column: int = 0
    item_positions: list[tuple[int, int]]


INVALID: Any = object()  # what a file that could not be read or parsed yields: nothing to validate


# libyaml's parser when PyYAML was built with it (the wheels are): several times faster, with
# the same nodes, marks and errors.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LocatingLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that builds YamlMap/YamlList with 1-based positions."""


# Input limits checked before any object is built: a tree is written by people, so these are far
# above any real file and far below what makes parsing or validation slow or recursive.
MAX_DEPTH = 64  # nested mappings/sequences
MAX_NODES = 200_000  # nodes after alias expansion ("billion laughs" stays a few KB of text)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping gives the same key twice: YAML forbids it, PyYAML would keep the later value."""


def _construct_map(loader: _LocatingLoader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if str(key) in seen:
            raise DuplicateKeyError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key `{key}`",
                key_node.start_mark,
            )
        seen.add(str(key))
    result = YamlMap()
    result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
    result.key_positions = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_positions[str(key)] = (
            key_node.start_mark.line + 1,
            key_node.start_mark.column + 1,
        )
    return result


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQ_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG


def _plain_tree(text: str) -> bool:
    """Whether the document has no alias (`*`), merge key (`<<`) or explicit tag (`!`, as in
    `!!merge`): then its nodes form a tree that `_construct_tree` builds as PyYAML would."""
    return "*" not in text and "<<" not in text and "!" not in text


def _construct_tree(loader: _LocatingLoader, node: yaml.Node) -> Any:
    """What `loader.construct_document(node)` builds, for a document without aliases or merge
    keys (so a tree of nodes, each built once): plain strings, maps and lists are built here,
    in one pass without PyYAML's per-node bookkeeping; every other node (an int, a null, an
    explicit tag) by the loader's own constructor. The depth is bounded before (MAX_DEPTH)."""
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
        return node.value
    if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
        return _tree_map(loader, node)
    if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
        result = YamlList(_construct_tree(loader, child) for child in node.value)
        result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
        result.item_positions = [
            (c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value
        ]
        return result
    return loader.construct_object(node, deep=True)


def _tree_map(loader: _LocatingLoader, node: yaml.MappingNode) -> YamlMap:
    """As `_construct_map`: every key checked for a duplicate before any value is built."""
    keys: list[str] = []
    positions: dict[str, tuple[int, int]] = {}
    for key_node, _ in node.value:
        key = str(_construct_tree(loader, key_node))
        if key in positions:
            raise DuplicateKeyError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key `{key}`",
                key_node.start_mark,
            )
        keys.append(key)
        mark = key_node.start_mark
        positions[key] = (mark.line + 1, mark.column + 1)
    result = YamlMap()
    result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
    result.key_positions = positions
    for key, (_, value_node) in zip(keys, node.value, strict=True):
        result[key] = _construct_tree(loader, value_node)
    return result


def _construct_list(loader: _LocatingLoader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(loader.construct_object(child, deep=True) for child in node.value)
    result.line, result.column = node.start_mark.line + 1, node.start_mark.column + 1
    result.item_positions = [(c.start_mark.line + 1, c.start_mark.column + 1) for c in node.value]
    return result


_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LocatingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)
# Dates stay strings: the models parse them, so a bad date is a located model error.
_LocatingLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# While a tree loads, the sha256 of the exact bytes each file gave: the revision is computed from
# these, so it names what was parsed even if a file is replaced while the tree is read.
READ_LOG: ContextVar[dict[Path, str] | None] = ContextVar("READ_LOG", default=None)


def read_bytes(path: Path, display: str, problems: list[Problem]) -> tuple[bytes, str] | None:
    """The file's bytes and their sha256 (logged for the revision), or None with a located
    problem when it cannot be read."""
    try:
        data = _regular_file_bytes(path)
    except OSError as exc:
        problems.append(Problem(Location(display), "io", f"cannot read file: {exc.strerror}"))
        return None
    if isinstance(data, str):
        problems.append(Problem(Location(display), "io", f"cannot read file: {data}"))
        return None
    sha = hashlib.sha256(data).hexdigest()
    log = READ_LOG.get()
    if log is not None:
        log[path] = sha
    return data, sha


MAX_FILE_BYTES = 16 * 2**20  # far above any policy file: a bigger one is a mistake or an attack


def _regular_file_bytes(path: Path) -> bytes | str:
    """The bytes of a regular file of at most MAX_FILE_BYTES, or why it is refused: a FIFO
    (opened without blocking) would hang the load, a device such as /dev/zero never ends."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return "not a regular file"
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # bounded even if the file grows meanwhile
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:
        return f"larger than the {MAX_FILE_BYTES // 2**20} MiB a policy tree file may be"
    return data


def decode_text(data: bytes, display: str, problems: list[Problem]) -> str | None:
    """Bytes as UTF-8 text, or None with a located problem when they are binary or not UTF-8."""
    if b"\x00" in data:
        problems.append(Problem(Location(display), "not-text", "file is binary, not text"))
        return None
    try:  # a byte order mark (Windows editors write one) is not text: YAML skips it, Cedar did not
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(Location(display), "not-text", f"file is not UTF-8: {exc.reason}"))
        return None


def read_text(path: Path, display: str, problems: list[Problem]) -> str | None:
    """The file's text, or None with a located problem if it is unreadable or not text."""
    read = read_bytes(path, display, problems)
    return None if read is None else decode_text(read[0], display, problems)


def _check_depth(text: str) -> None:
    """Raise a located YAMLError when nesting exceeds MAX_DEPTH; reads the flat event stream,
    so no recursion happens before the limit is known to hold."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = cast("yaml.Mark", event.start_mark)  # libyaml's Mark has the same fields
                raise yaml.MarkedYAMLError(
                    None, None, f"nesting deeper than {MAX_DEPTH} levels", mark
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _expanded_size(root: yaml.Node) -> int:
    """Node count once aliases are expanded, computed without expanding (memo per node)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if children_done or not children:
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(sizes.get(id(c), 1) for c in children))
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _may_expand(text: str) -> bool:
    """Whether the document could pass MAX_NODES: only through an alias (`*`), or by sheer
    size. Without aliases a node takes a character of text, or is empty and follows an
    indicator or separator (`[:,:]` is seven nodes in five): four per character is a bound
    with room to spare, so small files of no alias skip the count."""
    return "*" in text or 4 * len(text) + 1 > MAX_NODES


# Where a block collection can begin other than at a line's indentation: after a `- ` or `? `
# indicator on the same line (`- - x`, `- key: v`, `? - x`).
_COMPACT = re.compile(r"[-?][ \t]+(?=\S)")


def _depth_bound(text: str) -> int:
    """An upper bound on the nesting depth, read off the text without parsing it.

    Along a chain of nested block collections the starting columns never decrease, and one
    column holds at most two levels (a mapping and the sequence that is one of its values,
    `key:` then `- x` below it); a block collection starts at a line's indentation or after a
    compact indicator. Flow collections (`[`, `{`) nest inside block ones, never the reverse,
    and each opens with a bracket. So the depth is at most twice the number of those columns
    plus the number of brackets (in scalars too: over-counting is safe)."""
    columns: set[int] = set()
    for line in text.splitlines():
        columns.add(len(line) - len(line.lstrip(" \t")))
        if "-" in line or "?" in line:
            columns.update(m.end() for m in _COMPACT.finditer(line))
    return 2 * len(columns) + text.count("[") + text.count("{")


def _load_bounded(text: str) -> Any:
    if _depth_bound(text) > MAX_DEPTH:  # only then is the event stream read to tell
        _check_depth(text)
    loader = _LocatingLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _may_expand(text) and _expanded_size(node) > MAX_NODES:
            raise yaml.MarkedYAMLError(
                None,
                None,
                f"document expands to more than {MAX_NODES} nodes (aliases)",
                node.start_mark,
            )
        if not _plain_tree(text):
            return loader.construct_document(node)
        return _construct_tree(loader, node)
    finally:
        loader.dispose()


def parse_yaml(text: str, display: str, problems: list[Problem]) -> Any:
    """Parse YAML text into YamlMap/YamlList; a syntax error or a broken input limit (depth,
    alias expansion, duplicate key) becomes a located problem."""
    try:
        return _load_bounded(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        problems.append(Problem(Location(display, line, column), "yaml", message or "invalid YAML"))
        return INVALID
    except yaml.YAMLError as exc:
        problems.append(Problem(Location(display), "yaml", f"invalid YAML: {exc}"))
    return INVALID


def load_yaml(path: Path, display: str, problems: list[Problem]) -> Any:
    """Read and parse one YAML file, reporting every failure as a located problem."""
    text = read_text(path, display, problems)
    return INVALID if text is None else parse_yaml(text, display, problems)


def position_of(document: Any, loc: tuple[int | str, ...]) -> tuple[int, int]:
    """The (line, column) of the deepest node of `document` that `loc` (a pydantic path) reaches."""
    node, best = document, (getattr(document, "line", 0), getattr(document, "column", 0))
    for step in loc:
        if isinstance(node, YamlMap) and isinstance(step, str) and step in node:
            best = node.key_positions.get(step, best)
            node = node[step]
        elif isinstance(node, YamlList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.item_positions[step]
            node = node[step]
        else:
            break
    return best
