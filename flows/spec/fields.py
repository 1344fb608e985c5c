"""Field types of a flow spec: what one question collects, validated by pydantic.

A field is a discriminated union on ``type``; lists hold a scalar type or objects with
sub-fields. ``when`` conditions refer to earlier answers.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

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


class AddressField(FieldBase):
    """A postal address: {street, unit, city, region, postal_code, country}, said in one
    go or piece by piece; read back for confirmation unless ``confirm: false``; the
    postal code can be keyed in."""

    type: Literal["address"]
    confirm: bool = Field(default=True, description="Read the address back to confirm it.")


_Scalars = (
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
    | AddressField
)
ScalarField = Annotated[_Scalars, Field(discriminator="type")]


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
        require_unique([f.id for f in self.fields], "sub-field ids")
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


FieldSpec = Annotated[_Scalars | ListField, Field(discriminator="type")]

KEYPAD_TYPES = frozenset({"yes_no", "choice", "integer", "digits", "date", "phone", "address"})


def require_unique(ids: list[str], what: str) -> None:
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(duplicates)}")


def tool_suffix(text: str) -> str:
    """A safe function-name fragment for a field id."""
    return re.sub(r"[^a-z0-9_]", "_", text.lower())
