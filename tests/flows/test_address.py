"""The address field: parsed (usaddress for the US), piece by piece, keyed, read back, checked."""

from __future__ import annotations

import pytest

from flows.engine.answers import AnswerContext, speak_value
from flows.engine.collector import Collector
from flows.engine.parsers import parse_address, read_address
from flows.engine.replies import Ask, StepComplete
from flows.errors import AnswerError, SpecError
from flows.spec.catalog import parse_spec
from flows.spec.fields import AddressField

SPEC = """
id: delivery
name: Delivery
welcome: {message: Hi.}
steps:
  - id: shipping
    fields:
      - id: address
        type: address
        prompt: What is the delivery address?
"""


def _address(**given: str | None) -> dict[str, str | None]:
    parts = ("street", "unit", "city", "region", "postal_code", "country")
    return {part: given.get(part) for part in parts}


# Addresses said in one go, US and elsewhere, are in the corpus
# (tests/flows/understanding_corpus.yaml, type "address").


def test_an_address_elsewhere_is_kept_with_the_default_country() -> None:
    assert parse_address("Rue de Rivoli 5, 75001 Paris", region="FR")["country"] == "FR"


def test_a_part_of_an_address_says_what_is_missing() -> None:
    assert read_address("123 Main Street").missing == ("city", "state", "ZIP code")
    with pytest.raises(AnswerError, match="whole address"):
        parse_address("123 Main Street")
    with pytest.raises(AnswerError):
        parse_address("uh")


def _collector(ctx: AnswerContext) -> Collector:
    c = Collector(parse_spec(SPEC, "delivery.yaml"), ctx)
    reply = c.enter_step("shipping")
    assert isinstance(reply, Ask)
    return c


def test_piece_by_piece_then_read_back(ctx: AnswerContext) -> None:
    c = _collector(ctx)
    reply = c.answer("it's 123 Main Street")
    assert isinstance(reply, Ask) and not reply.failed
    assert reply.question.text == "Thank you. And the city and state and ZIP code?"
    reply = c.answer("Springfield, Illinois")
    assert isinstance(reply, Ask) and reply.question.kind == "confirm"
    assert "123 Main Street, Springfield, IL" in reply.question.text
    assert isinstance(c.answer("yes"), StepComplete)
    state = c.fields["shipping.address"]
    assert state.value == _address(
        street="123 Main Street", city="Springfield", region="IL", country="US"
    )
    assert (state.attempts, state.confirmed) == (2, True)


def test_the_postal_code_keyed_in(ctx: AnswerContext) -> None:
    c = _collector(ctx)
    c.answer("123 Main Street")
    reply = c.keypad("62704")
    assert isinstance(reply, Ask) and reply.question.kind == "confirm"
    assert reply.question.text.endswith("six two seven zero four. Is that right?")
    c.answer("yes")
    state = c.fields["shipping.address"]
    assert isinstance(state.value, dict)
    assert (state.source, state.value["postal_code"]) == ("dtmf", "62704")


def test_an_answer_that_adds_nothing_is_a_failed_attempt(ctx: AnswerContext) -> None:
    c = _collector(ctx)
    c.answer("123 Main Street")
    reply = c.answer("123 Main Street")
    assert isinstance(reply, Ask) and reply.failed


def test_read_back_names_a_foreign_country() -> None:
    field = AddressField(id="address", type="address")
    spoken = speak_value(field, _address(street="10 Downing Street, London", country="GB"))
    assert spoken == "10 Downing Street, London, uk"


def test_the_spec_checker_knows_the_type() -> None:
    spec = parse_spec(SPEC, "delivery.yaml")
    field = spec.field("shipping.address")
    assert isinstance(field, AddressField) and field.confirm
    with pytest.raises(SpecError, match="addres"):
        parse_spec(SPEC.replace("type: address", "type: adress"), "delivery.yaml")
