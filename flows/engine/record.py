"""What a call has gathered so far: one state per field, and the questions put to the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from flows.engine.answers import Item, Value
from flows.spec.fields import FieldSpec
from flows.spec.flow import FlowSpec, StepSpec
from flows.spec.paths import FieldPath

Source = Literal["voice", "dtmf", "caller_id"]
FieldStatus = Literal["pending", "collected", "skipped", "missing"]
QuestionKind = Literal["welcome", "value", "confirm", "offer", "more", "item"]
WELCOME = "welcome"  # the welcome question's path, and the step id before the first step


@dataclass(frozen=True)
class PartialAddress:
    """An address given piece by piece: the answers so far, joined, and the parts they lack
    (read once, when the answer came, for the next question and the next answer)."""

    said: str
    missing: tuple[str, ...]


@dataclass
class FieldState:
    """One field of the flow, as the call goes."""

    path: str
    status: FieldStatus = "pending"
    value: Value = None
    source: Source | None = None
    attempts: int = 0  # questions asked for this field
    failures: int = 0  # answers that could not be used
    confirmed: bool = False
    skipped_by_condition: bool = False
    # a value read back and awaiting the caller's yes
    proposed: Value = None
    proposed_source: Source | None = None
    # a list of objects in progress: finished items, the item being filled, its next sub-field
    items: list[Item] = field(default_factory=list)
    draft: Item | None = None
    draft_index: int = 0
    # an address given piece by piece: what was said of it so far, and what it lacks
    partial: PartialAddress | None = None

    @property
    def settled(self) -> bool:
        return self.status != "pending"

    def reopen(self) -> None:
        """Forget the answer so the field is asked again; attempts keep counting."""
        self.status = "pending"
        self.value = None
        self.source = None
        self.confirmed = False
        self.failures = 0
        self.skipped_by_condition = False
        self.proposed = None
        self.proposed_source = None
        self.items = []
        self.draft = None
        self.draft_index = 0
        self.partial = None


@dataclass(frozen=True)
class Question:
    """What the agent is waiting for the caller to answer.

    ``target`` is what the answer fills: ``step.field``, ``step.field[]`` (any more
    items?) or ``step.field[].sub`` (an item's sub-field); None for the welcome question.
    Confirmations use the field's path with kind ``confirm``.
    """

    kind: QuestionKind
    target: FieldPath | None
    text: str
    keypad: bool = False
    serial: int = 0

    @property
    def path(self) -> str:
        """The answer queue's name in a scenario: ``welcome`` or the target as text."""
        return WELCOME if self.target is None else str(self.target)

    @property
    def field_path(self) -> str | None:
        """The ``step.field`` the question belongs to, the key of its ``FieldState``."""
        return None if self.target is None else str(self.target.of_field)

    @property
    def yes_no(self) -> bool:
        return self.kind in ("welcome", "confirm", "offer", "more")


def when_holds(
    spec: FlowSpec, step: StepSpec, field: FieldSpec, states: dict[str, FieldState]
) -> bool:
    """Whether a field's ``when`` condition holds; a condition on an answer not collected
    (skipped, missing, not yet asked) does not."""
    ref = spec.condition_path(step, field)
    if ref is None or field.when is None:
        return True
    target = states[str(ref)]
    return field.when.holds(target.value if target.status == "collected" else None)
