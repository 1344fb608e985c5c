"""YAML documents with positions: errors point at a path and a line in the file.

Flow specs, scenarios and the telephony file of ``intake provision`` are all read and
parsed here, then validated by pydantic; a validation error's location is mapped back to
the line of the offending key.

The files may be hostile or simply wrong, so reading is bounded: at most ``max_bytes``
(``INTAKE_MAX_DOCUMENT_BYTES``; ``/dev/zero`` stops there), UTF-8 text without NUL bytes,
nesting at most ``MAX_DEPTH`` levels, and at most ``MAX_VALUES`` values once aliases are
expanded (a few hundred bytes of "billion laughs" would otherwise be gigabytes). Only
the plain YAML types are built: any other tag, and merge keys, are refused by line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from flows.errors import FlowError, Location

MAX_DOCUMENT_BYTES = 1_000_000  # the default of INTAKE_MAX_DOCUMENT_BYTES
MAX_DEPTH = 64  # a real flow spec nests about ten levels
MAX_VALUES = 20_000  # a real flow spec has a few hundred; PyYAML takes a second for 20,000
_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_READ_CHUNK = 1 << 16


@dataclass
class Document:
    source: str
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line(self, loc: Location) -> int | None:
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


class DocumentError(FlowError):
    """The file or text is not a YAML mapping within the limits, or does not validate.
    ``problems`` are (where, what)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {problems[0][0]}: {problems[0][1]}")


def read_text(path: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of a document file: DocumentError if it is larger than ``max_bytes``, not
    UTF-8, or binary. OSError (missing, unreadable) is left to the caller, who names the
    kind of file. A FIFO or a device is read up to the limit, never waited on to open."""
    source = str(path)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory", source)
        if stat.S_ISREG(info.st_mode) and info.st_size > max_bytes:
            raise DocumentError(source, [("file", f"larger than the limit of {max_bytes} bytes")])
        os.set_blocking(descriptor, True)
        data = bytearray()
        while len(data) <= max_bytes:
            chunk = os.read(descriptor, min(_READ_CHUNK, max_bytes + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        raise DocumentError(source, [("file", f"larger than the limit of {max_bytes} bytes")])
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DocumentError(source, [(f"line {line}", "not UTF-8 text")]) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise DocumentError(source, [(f"line {line}", "binary data (a NUL byte), not YAML text")])
    return text


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's composer recurses once per level: stop at MAX_DEPTH, and at MAX_VALUES
    nodes (pure-Python composing is slow and each node costs memory), with the line."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH or self._nodes > MAX_VALUES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                too_much = (
                    f"nested deeper than {MAX_DEPTH} levels"
                    if self._depth > MAX_DEPTH
                    else f"more than {MAX_VALUES} values"
                )
                raise yaml.composer.ComposerError(None, None, too_much, mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_document(text: str, source: str) -> Document:
    try:
        node = yaml.compose(text, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise DocumentError(source, [(where, str(problem))]) from None
    except RecursionError:  # the scanner's own levels, under a deep composer
        raise DocumentError(
            source, [("document", f"nested deeper than {MAX_DEPTH} levels")]
        ) from None
    if node is None:
        raise DocumentError(source, [("document", "the file is empty")])
    doc = Document(source=source, data=None)
    builder = _Builder(source, doc.lines)
    doc.data = builder.build(node, ())
    if not isinstance(doc.data, dict):
        raise DocumentError(source, [("document", "expected a mapping at the top level")])
    return doc


class _Builder:
    """Plain data from the node graph, recording each key's line; aliases are expanded,
    within MAX_VALUES values and MAX_DEPTH levels (an alias may point at its own parent)."""

    def __init__(self, source: str, lines: dict[Location, int]) -> None:
        self.source, self.lines = source, lines
        self.loader = yaml.SafeLoader("")
        self.values = 0

    def fail(self, node: yaml.Node, what: str) -> DocumentError:
        return DocumentError(self.source, [(f"line {node.start_mark.line + 1}", what)])

    def build(self, node: yaml.Node, loc: Location) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise self.fail(node, f"more than {MAX_VALUES} values (aliases expanded)")
        if len(loc) > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels (aliases expanded)")
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            self.check_tag(node, _CORE + "map")
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node)
                result[key] = self.build(value_node, (*loc, key))
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node, _CORE + "seq")
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def key(self, node: yaml.Node) -> str | int:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, "a key must be a plain value, not a list or a mapping")
        key = self.scalar(node)
        return key if isinstance(key, str | int) else str(key)

    def scalar(self, node: yaml.Node) -> Any:
        if node.tag == _CORE + "merge":
            raise self.fail(node, "merge keys (<<) are not supported; repeat the keys")
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f"the tag {node.tag} is not allowed here")
        try:
            return self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise self.fail(
                node, "a value that cannot be read (a number too long, or an impossible date)"
            ) from None

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise self.fail(node, f"the tag {node.tag} is not allowed here")


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], doc: Document) -> M:
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        problems = [
            _describe(doc, tuple(err["loc"]), err["msg"], err["type"]) for err in exc.errors()
        ]
        raise DocumentError(doc.source, problems) from None


def _describe(doc: Document, loc: Location, msg: str, kind: str) -> tuple[str, str]:
    path = _data_path(doc.data, loc)
    line = doc.line(path)
    where = format_path(path) or "document"
    if line is not None:
        where += f" (line {line})"
    if kind == "extra_forbidden":
        msg = "unknown key"
    return where, msg.removeprefix("Value error, ")


def _data_path(data: Any, loc: Location) -> Location:
    """Drop the union-tag and validator segments pydantic adds, keeping keys of the data."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if _has(current, part):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and part not in current and not _is_tag(part, current):
            path.append(part)  # a missing key: point at it, under its parent
            break
    return tuple(path)


def _has(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _is_tag(part: str | int, mapping: dict[Any, Any]) -> bool:
    return isinstance(part, str) and (part == mapping.get("type") or "[" in part or "-" in part)


def format_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
