"""The flow spec: what a flow author declares in YAML, validated by pydantic.

A flow is a welcome, ordered steps of fields, an ending, an optional transfer target,
emergency phrases and limits. Field types are a discriminated union on ``type``.
Everything here is data; behaviour lives in the collector and the compiler.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=48)]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WhenCondition(SpecModel):
    """Ask a field only when an earlier answer has a value.

    ``field`` is ``step.field``, or a bare field id of the same step.
    Exactly one of ``equals``/``not_equals``/``in``.
    """

    field: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")]
    equals: bool | int | str | None = None
    not_equals: bool | int | str | None = None
    in_: list[bool | int | str] | None = Field(default=None, alias="in")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> WhenCondition:
        given = [
            name
            for name, value in (
                ("equals", self.equals),
                ("not_equals", self.not_equals),
                ("in", self.in_),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, not_equals, in")
        return self

    def holds(self, value: object) -> bool:
        if value is None:
            return False
        if self.equals is not None:
            return bool(value == self.equals)
        if self.not_equals is not None:
            return bool(value != self.not_equals)
        return value in (self.in_ or [])


class FieldBase(SpecModel):
    id: Identifier
    prompt: str | None = Field(
        default=None, description="The question; a default is derived from the id."
    )
    optional: bool = False
    confirm: bool = Field(default=False, description="Read the value back and ask to confirm.")
    when: WhenCondition | None = None
    sensitive: bool = Field(
        default=False, description="Never leaves the payload: not in logs, summaries, briefings."
    )
    keypad: str | None = Field(
        default=None, description="Keypad instructions spoken after the spoken-attempt limit."
    )
    aliases: list[str] = Field(
        default_factory=list, description="Words a caller may use for this field in corrections."
    )

    @property
    def label(self) -> str:
        return self.id.replace("_", " ")

    @property
    def question(self) -> str:
        return self.prompt or f"What is your {self.label}?"


class TextField(FieldBase):
    type: Literal["text"]


class NameField(FieldBase):
    type: Literal["name"]


class YesNoField(FieldBase):
    type: Literal["yes_no"]


class ChoiceOptionSpec(SpecModel):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=48)]
    label: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    range: tuple[float | None, float | None] | None = Field(
        default=None, description="[min, max) of a spoken amount that maps to this option."
    )

    @property
    def spoken(self) -> str:
        return self.label or self.id.replace("_", " ")


class ChoiceField(FieldBase):
    type: Literal["choice"]
    options: Annotated[list[ChoiceOptionSpec], Field(min_length=2)]

    @model_validator(mode="after")
    def _unique_options(self) -> ChoiceField:
        ids = [option.id for option in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique")
        return self


class IntegerField(FieldBase):
    type: Literal["integer"]
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _ordered(self) -> IntegerField:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class DigitsField(FieldBase):
    type: Literal["digits"]
    min_length: Annotated[int, Field(ge=1)] = 1
    max_length: Annotated[int, Field(ge=1)] | None = None


class AlphanumericField(FieldBase):
    type: Literal["alphanumeric"]
    min_length: Annotated[int, Field(ge=1)] = 1
    max_length: Annotated[int, Field(ge=1)] | None = None


DateBound = date | Literal["today"]


class DateField(FieldBase):
    type: Literal["date"]
    min: DateBound | None = None
    max: DateBound | None = None
    birth_date: bool = Field(
        default=False, description="A birth date: never in the future (max defaults to today)."
    )

    @model_validator(mode="after")
    def _birth_date_in_past(self) -> DateField:
        if self.birth_date and isinstance(self.max, date) and self.max > date.today():
            raise ValueError("a birth date cannot be in the future: max must not be after today")
        return self


class PhoneField(FieldBase):
    type: Literal["phone"]
    offer_call_number: bool = Field(
        default=False,
        description="First offer the number of this call (caller's inbound, dialed outbound).",
    )
    offer_prompt: str = "Is the number you're calling from the best one to reach you?"


class EmailField(FieldBase):
    type: Literal["email"]


ScalarField = Annotated[
    TextField
    | NameField
    | YesNoField
    | ChoiceField
    | IntegerField
    | DigitsField
    | AlphanumericField
    | DateField
    | PhoneField
    | EmailField,
    Field(discriminator="type"),
]


class ItemSpec(SpecModel):
    """What a list holds: a scalar type, or an object with sub-fields."""

    type: Literal["text", "name", "object"] = "text"
    fields: list[ScalarField] = Field(default_factory=list)

    @model_validator(mode="after")
    def _object_has_fields(self) -> ItemSpec:
        if self.type == "object" and not self.fields:
            raise ValueError("an object item needs fields")
        if self.type != "object" and self.fields:
            raise ValueError("only an object item has fields")
        _require_unique([f.id for f in self.fields], "sub-field ids")
        for sub in self.fields:
            if sub.when is not None or sub.confirm:
                raise ValueError("sub-fields take no when/confirm")
        if self.fields and self.fields[0].optional:
            raise ValueError("the first sub-field of an item must be required")
        return self


class ListField(FieldBase):
    type: Literal["list"]
    item: ItemSpec = Field(default_factory=ItemSpec)
    more_prompt: str | None = Field(
        default=None, description="For object items: 'any more?' after the first item."
    )
    max_items: Annotated[int, Field(ge=1, le=50)] = 20


FieldSpec = Annotated[
    TextField
    | NameField
    | YesNoField
    | ChoiceField
    | IntegerField
    | DigitsField
    | AlphanumericField
    | DateField
    | PhoneField
    | EmailField
    | ListField,
    Field(discriminator="type"),
]

KEYPAD_TYPES = frozenset({"yes_no", "choice", "integer", "digits", "date", "phone"})


class StepSpec(SpecModel):
    id: Identifier
    description: str | None = Field(
        default=None, description="What the step collects; used when the caller goes back to it."
    )
    fields: Annotated[list[FieldSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_fields(self) -> StepSpec:
        _require_unique([f.id for f in self.fields], "field ids in a step")
        return self

    @property
    def summary(self) -> str:
        return self.description or "Collect " + ", ".join(f.label for f in self.fields)


class WelcomeSpec(SpecModel):
    message: str
    question: str | None = Field(default=None, description="A 'no' ends the call as declined.")
    declined_message: str = "No problem. Thank you for your time, goodbye."


class EndingSpec(SpecModel):
    message: str = "Thank you, that's everything I needed. Goodbye."
    summary: bool = True


TransferReason = Literal["caller_request", "collection_failed", "emergency", "error"]
ALL_TRANSFER_REASONS: tuple[TransferReason, ...] = (
    "caller_request",
    "collection_failed",
    "emergency",
    "error",
)


class TransferSpec(SpecModel):
    destination: str | None = Field(
        default=None,
        description="E.164 number or sip: URI; unset = the INTAKE_TRANSFER_TO setting.",
    )
    triggers: list[TransferReason] = Field(default_factory=lambda: list(ALL_TRANSFER_REASONS))
    message: str = "Let me connect you with a member of our team. Please hold."
    fallback_message: str = (
        "I'm sorry, no one is available right now. Someone from our team will call you back. "
        "Goodbye."
    )


class EmergencySpec(SpecModel):
    phrases: Annotated[list[str], Field(min_length=1)]
    message: str = (
        "If this is a medical emergency, please hang up and dial 911 now. "
        "I'm connecting you with our staff."
    )


class LimitsSpec(SpecModel):
    spoken_attempts_before_keypad: Annotated[int, Field(ge=1, le=10)] = 2
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 4
    no_input_reprompts: Annotated[int, Field(ge=0, le=10)] = 2


class FlowSpec(SpecModel):
    id: Identifier
    name: str
    description: str | None = None
    persona: str = "You are a friendly, efficient phone assistant."
    instructions: str | None = Field(default=None, description="Extra guidance for the model.")
    welcome: WelcomeSpec
    steps: Annotated[list[StepSpec], Field(min_length=1)]
    ending: EndingSpec = Field(default_factory=EndingSpec)
    transfer: TransferSpec | None = None
    emergency: EmergencySpec | None = None
    limits: LimitsSpec = Field(default_factory=LimitsSpec)
    voicemail_message: str | None = None

    @model_validator(mode="after")
    def _references(self) -> FlowSpec:
        _require_unique([s.id for s in self.steps], "step ids")
        seen: dict[str, FieldSpec] = {}
        for step in self.steps:
            for field in step.fields:
                if field.when is not None:
                    ref = field.when.field if "." in field.when.field else None
                    target = seen.get(ref) if ref else seen.get(f"{step.id}.{field.when.field}")
                    if target is None:
                        raise ValueError(
                            f"{step.id}.{field.id}: 'when' refers to {field.when.field!r}, "
                            "which is not an earlier field"
                        )
                    if isinstance(target, ListField):
                        raise ValueError(f"{step.id}.{field.id}: 'when' cannot test a list")
                seen[f"{step.id}.{field.id}"] = field
        return self

    def field_paths(self) -> list[str]:
        return [f"{step.id}.{field.id}" for step in self.steps for field in step.fields]

    def field(self, path: str) -> FieldSpec:
        step_id, _, field_id = path.partition(".")
        for step in self.steps:
            if step.id == step_id:
                for field in step.fields:
                    if field.id == field_id:
                        return field
        raise KeyError(path)

    def step_of(self, path: str) -> StepSpec:
        step_id = path.partition(".")[0]
        return next(step for step in self.steps if step.id == step_id)

    def condition_path(self, step: StepSpec, field: FieldSpec) -> str | None:
        """The full path of the field that ``field.when`` tests."""
        if field.when is None:
            return None
        ref = field.when.field
        return ref if "." in ref else f"{step.id}.{ref}"

    @property
    def version(self) -> str:
        """Short hash of the validated spec, so a payload names the exact flow behind it."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def _require_unique(ids: list[str], what: str) -> None:
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(duplicates)}")


def tool_suffix(text: str) -> str:
    """A safe function-name fragment for a field id."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


def spec_json_schema() -> dict[str, Any]:
    return FlowSpec.model_json_schema(by_alias=True)
