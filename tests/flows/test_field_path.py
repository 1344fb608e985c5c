"""Field paths: the one parser of ``step.field[].sub``, its text form and its errors."""

from __future__ import annotations

import pytest

from flows.errors import FieldPathError, FlowError
from flows.spec.flow import FlowSpec
from flows.spec.paths import FieldPath


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contact.phone", FieldPath("contact", "phone")),
        ("medications.medications[]", FieldPath("medications", "medications", items=True)),
        (
            "medications.medications[].dose_2",
            FieldPath("medications", "medications", items=True, sub="dose_2"),
        ),
    ],
)
def test_text_and_path_round_trip(text: str, expected: FieldPath) -> None:
    assert FieldPath.parse(text) == expected
    assert str(expected) == text


def test_a_bare_field_id_belongs_to_the_step_given() -> None:
    assert FieldPath.parse("has_insurance", step="insurance") == FieldPath(
        "insurance", "has_insurance"
    )
    assert FieldPath.parse("other.x", step="insurance") == FieldPath("other", "x")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "contact",  # no step and none given
        "contact.phone.extra",
        "contact.phone[]sub",
        "contact.phone.[]",
        "contact.phone[].sub[]",
        "Contact.phone",
        "contact..phone",
        "contact.phone ",
        "1step.field",
    ],
)
def test_bad_paths_raise_one_clear_error(text: str) -> None:
    with pytest.raises(FieldPathError, match="is not a field path"):
        FieldPath.parse(text)


def test_the_error_is_in_the_tree_and_a_value_error() -> None:
    assert issubclass(FieldPathError, FlowError)
    assert issubclass(FieldPathError, ValueError)  # pydantic validators report it in place


def test_a_sub_field_needs_the_list_marker() -> None:
    with pytest.raises(FieldPathError, match="needs"):
        FieldPath("medications", "medications", sub="name")


def test_derived_paths() -> None:
    path = FieldPath.parse("medications.medications[].name")
    assert str(path.of_field) == "medications.medications"
    assert str(path.of_field.item_list()) == "medications.medications[]"
    assert path.of_field.item_field("name") == path
    assert FieldPath("a", "b").of_field == FieldPath("a", "b")


def test_the_spec_finds_fields_and_sub_fields_by_path(intake: FlowSpec) -> None:
    spec = intake
    med = FieldPath.parse("medications.medications[].name")
    assert spec.field(med).id == "medications"
    assert spec.answer_field(med).id == "name"
    assert spec.field("contact.phone").id == "phone"
    assert spec.field_paths() == [str(p) for p in spec.paths()]
    with pytest.raises(KeyError):
        spec.field("contact.fax")
    with pytest.raises(KeyError):
        spec.answer_field(FieldPath.parse("medications.medications[].colour"))


def test_a_bare_condition_reference_names_a_field_of_its_own_step(intake: FlowSpec) -> None:
    step = next(s for s in intake.steps if s.id == "insurance")
    conditional = next(f for f in step.fields if f.when is not None)
    assert intake.condition_path(step, conditional) == FieldPath("insurance", "has_insurance")
