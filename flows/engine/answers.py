"""Turning an answer into a field's value, and a value back into words, by field type.

One dispatch shared by the tools a model calls, keypad entries and the offline engine.
Values come out JSON-ready, in the formats of CONTRACT.md section 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flows.engine import parsers, readback
from flows.errors import AnswerError
from flows.spec.fields import (
    AddressField,
    AlphanumericField,
    ChoiceField,
    DateBound,
    DateField,
    DigitsField,
    EmailField,
    FieldSpec,
    IntegerField,
    ListField,
    NameField,
    PhoneField,
    ScalarField,
    TextField,
    YesNoField,
)

AddressValue = dict[str, str | None]  # street, unit, city, region, postal_code, country
ScalarValue = str | int | bool | AddressValue | None  # one answer; a date is its ISO text
Item = dict[str, ScalarValue]  # one item of a list of objects, by sub-field id
Value = ScalarValue | list[str] | list[Item]  # a list of names or texts, or of objects


@dataclass(frozen=True)
class AnswerContext:
    """What parsing needs besides the words: the phone region and today's date."""

    region: str
    today: date


def parse_value(field: FieldSpec | ScalarField, text: str, ctx: AnswerContext) -> Value:
    """The field's value from what the caller said (or a model's normalised form of it)."""
    if isinstance(field, ListField):
        if field.item.type == "object":
            raise AnswerError("this list is collected one item at a time")
        item_parser = parsers.parse_name if field.item.type == "name" else parsers.parse_text
        return list(parsers.parse_list(text, item=item_parser))
    return parse_scalar(field, text, ctx)


def parse_scalar(field: ScalarField, text: str, ctx: AnswerContext) -> ScalarValue:
    """One answer of a scalar field or of a list item's sub-field."""
    match field:
        case TextField():
            return parsers.parse_text(text)
        case NameField():
            return parsers.parse_name(text)
        case YesNoField():
            return parsers.parse_yes_no(text)
        case ChoiceField():
            return parsers.parse_choice(text, choice_options(field))
        case IntegerField():
            return parsers.parse_integer(text, minimum=field.min, maximum=field.max)
        case DigitsField():
            return parsers.parse_digits(
                text, min_length=field.min_length, max_length=field.max_length
            )
        case AlphanumericField():
            return parsers.parse_alphanumeric(
                text, min_length=field.min_length, max_length=field.max_length
            )
        case DateField():
            low, high = date_bounds(field, ctx.today)
            return parsers.parse_date(text, today=ctx.today, minimum=low, maximum=high).isoformat()
        case PhoneField():
            return parsers.parse_phone(text, region=ctx.region)
        case EmailField():
            return parsers.parse_email(text)
        case AddressField():
            return parsers.parse_address(text, region=ctx.region)
    raise AnswerError("this field cannot take an answer")  # pragma: no cover - exhaustive


def choice_options(field: ChoiceField) -> list[parsers.ChoiceOption]:
    return [
        parsers.ChoiceOption(
            id=option.id,
            label=option.spoken,
            synonyms=tuple(option.synonyms),
            minimum=option.range[0] if option.range else None,
            maximum=option.range[1] if option.range else None,
        )
        for option in field.options
    ]


def date_bounds(field: DateField, today: date) -> tuple[date | None, date | None]:
    def resolve(bound: DateBound | None) -> date | None:
        return today if bound == "today" else bound

    high = resolve(field.max)
    if field.birth_date:
        high = min(high, today) if high else today
    return resolve(field.min), high


def speak_value(field: FieldSpec | ScalarField, value: Value) -> str:
    """How the agent reads a value back on the phone."""
    if value is None:
        return "nothing"
    match field:
        case DateField():
            return readback.speak_date(date.fromisoformat(str(value)))
        case PhoneField():
            return readback.speak_phone(str(value))
        case EmailField():
            return readback.speak_email(str(value))
        case AddressField() if isinstance(value, dict):
            return readback.speak_address(value)
        case DigitsField():
            return readback.speak_digits(str(value))
        case AlphanumericField():
            return readback.speak_alphanumeric(str(value))
        case IntegerField():
            return readback.speak_integer(int(str(value)))
        case YesNoField():
            return "yes" if value else "no"
        case ChoiceField():
            return next((o.spoken for o in field.options if o.id == value), str(value))
        case ListField():
            items = value if isinstance(value, list) else []
            return ", ".join(_speak_item(field, item) for item in items) or "none"
    return str(value)


def _speak_item(field: ListField, item: str | Item) -> str:
    if isinstance(item, dict):
        return " ".join(str(v) for v in item.values() if v)
    return str(item)
