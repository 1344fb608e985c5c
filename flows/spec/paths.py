"""Field paths: how a flow, a scenario, a payload and the model name one answer.

Three forms, all parsed here and nowhere else::

    step.field          a field (its value, read-back or offer)
    step.field[]        a list of objects: the "any more?" question
    step.field[].sub    one sub-field of the list item being filled

``when`` conditions may also name a field of their own step by its bare id; ``parse``
takes that step as ``step=``. ``str(path)`` gives the text back, so the text form stays
what payloads, scenario files and tool arguments use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.errors import FieldPathError

_PART = r"[a-z][a-z0-9_]*"
_PATH = re.compile(
    rf"^(?:(?P<step>{_PART})\.)?(?P<field>{_PART})(?P<items>\[\](?:\.(?P<sub>{_PART}))?)?$"
)
_ITEMS = "[]"


@dataclass(frozen=True, order=True)
class FieldPath:
    """A parsed field path; ``sub`` set means ``items`` is too."""

    step: str
    field: str
    items: bool = False
    sub: str | None = None

    def __post_init__(self) -> None:
        if self.sub is not None and not self.items:
            raise FieldPathError(f"{self.step}.{self.field}.{self.sub}: a sub-field needs '[]'")

    @classmethod
    def parse(cls, text: str, *, step: str | None = None) -> FieldPath:
        """``text`` as a path; a bare field id belongs to ``step`` when one is given."""
        match = _PATH.match(text)
        if match is None:
            raise FieldPathError(
                f"{text!r} is not a field path: expected step.field, step.field[] "
                "or step.field[].sub"
            )
        owner = match["step"] or step
        if owner is None:
            raise FieldPathError(f"{text!r} is not a field path: it names no step")
        return cls(owner, match["field"], items=match["items"] is not None, sub=match["sub"])

    @property
    def of_field(self) -> FieldPath:
        """The path of the whole field: ``step.field`` without ``[]`` or a sub-field."""
        return FieldPath(self.step, self.field) if self.items else self

    def item_list(self) -> FieldPath:
        """``step.field[]``: the question whether a list has more items."""
        return FieldPath(self.step, self.field, items=True)

    def item_field(self, sub: str) -> FieldPath:
        """``step.field[].sub``: one sub-field of a list item."""
        return FieldPath(self.step, self.field, items=True, sub=sub)

    def __str__(self) -> str:
        text = f"{self.step}.{self.field}"
        if self.items:
            text += _ITEMS
        if self.sub is not None:
            text += f".{self.sub}"
        return text
