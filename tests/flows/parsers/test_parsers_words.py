"""Names, verbatim text and spelled codes."""

from __future__ import annotations

import pytest

from flows.engine.parsers import parse_alphanumeric, parse_name, parse_text
from flows.errors import AnswerError


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("jane doe", "Jane Doe"),
        ("my name is jane doe", "Jane Doe"),
        ("my full name is Jane Doe.", "Jane Doe"),
        ("name's bob", "Bob"),
        ("it's jane", "Jane"),
        ("this is jane doe", "Jane Doe"),
        ("this is jane doe speaking", "Jane Doe"),
        ("jane doe here", "Jane Doe"),
        ("I'm Jane", "Jane"),
        ("I am jane doe", "Jane Doe"),
        ("call me jane", "Jane"),
        ("the patient is john doe", "John Doe"),
        ("uh, jane, um, doe", "Jane Doe"),
        ("yeah, it's jane doe", "Jane Doe"),
        ("hi, this is priya patel", "Priya Patel"),
        ("they call me jane", "Jane"),
        ("o'brien", "O'Brien"),
        ("o\u2019brien", "O'Brien"),
        ("mary-jane smith", "Mary-Jane Smith"),
        ("JOHN DOE", "John Doe"),
        ("McDonald", "McDonald"),
        ("j o h n smith", "John Smith"),
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("jane a doe", "Jane A Doe"),
        ("josé garcía", "José García"),
    ],
)
def test_parse_name(said: str, expected: str) -> None:
    assert parse_name(said) == expected


@pytest.mark.parametrize(
    ("said", "message"),
    [
        ("", "expected a name"),
        ("my name is", "expected a name"),
        ("um", "expected a name"),
        ("jane doe 2", "without numbers"),
        ("one two three four five six seven", "at most 6 words"),
        ("can you connect me to the receptionist", "at most 6 words"),
    ],
)
def test_parse_name_rejects(said: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_name(said)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("  I had a   cough\nfor two weeks ", "I had a cough for two weeks"),
        ("Yes.", "Yes."),
        ("ümlaut  ok", "ümlaut ok"),
    ],
)
def test_parse_text(said: str, expected: str) -> None:
    assert parse_text(said) == expected


@pytest.mark.parametrize("said", ["", "   ", "\n\t"])
def test_parse_text_rejects_empty(said: str) -> None:
    with pytest.raises(AnswerError):
        parse_text(said)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("x y z one two three", "XYZ123"),
        ("ABC 12345", "ABC12345"),
        ("abc12345", "ABC12345"),
        ("b as in boy seven", "B7"),
        ("double z nine", "ZZ9"),
        ("double u x 1", "WX1"),
        ("a b c dash one two", "ABC12"),
        ("A-B-C-1-2", "ABC12"),
        ("it's W X 4 4 5", "WX445"),
        ("my member id is W X 4 4 5", "WX445"),
        ("the id is x 9", "X9"),
        ("X. Y. Z. 1 2 3", "XYZ123"),
        ("alpha bravo charlie one", "ABC1"),
        ("W X oh four", "WX04"),
        ("a b oh", "ABO"),
        ("bee see dee", "BCD"),
        ("twenty three", "23"),
    ],
)
def test_parse_alphanumeric(said: str, expected: str) -> None:
    assert parse_alphanumeric(said) == expected


def test_parse_alphanumeric_length_bounds() -> None:
    assert parse_alphanumeric("a b 1", min_length=3, max_length=3) == "AB1"
    with pytest.raises(AnswerError, match="exactly 3 characters"):
        parse_alphanumeric("a b", min_length=3, max_length=3)
    with pytest.raises(AnswerError, match="between 2 and 3 characters"):
        parse_alphanumeric("a b c d", min_length=2, max_length=3)


@pytest.mark.parametrize("said", ["", "um", "-- / --", "it's"])
def test_parse_alphanumeric_rejects(said: str) -> None:
    with pytest.raises(AnswerError, match="letters and digits"):
        parse_alphanumeric(said)
