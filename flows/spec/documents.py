"""YAML documents with positions: errors point at a path and a line in the file.

Flow specs and scenarios are both parsed here, then validated by pydantic; a validation
error's location is mapped back to the line of the offending key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from flows.errors import FlowError

Location = tuple[str | int, ...]


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
    """The text is not a YAML mapping, or does not validate. ``problems`` are (where, what)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: {problems[0][0]}: {problems[0][1]}")


def read_document(text: str, source: str) -> Document:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise DocumentError(source, [(where, str(problem))]) from None
    if node is None:
        raise DocumentError(source, [("document", "the file is empty")])
    doc = Document(source=source, data=None)
    doc.data = _build(node, (), doc.lines, yaml.SafeLoader(""))
    if not isinstance(doc.data, dict):
        raise DocumentError(source, [("document", "expected a mapping at the top level")])
    return doc


def _build(
    node: yaml.Node, loc: Location, lines: dict[Location, int], loader: yaml.SafeLoader
) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str | int | bool | float) or key is None:
                key = str(key)
            result[key] = _build(value_node, (*loc, key), lines, loader)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node)


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
