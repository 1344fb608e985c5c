"""Phone numbers and email addresses, spoken or written."""

from __future__ import annotations

import pytest

from flows.engine.parsers import parse_email, parse_phone
from flows.errors import AnswerError


@pytest.mark.parametrize(
    "said",
    [
        "four one five five five five zero one nine nine",
        "four one five, five five five, oh one nine nine",
        "(415) 555-0199",
        "415.555.0199",
        "415-555-0199",
        "plus one four one five five five five zero one nine nine",
        "+1 415 555 0199",
        "one four one five five five five zero one nine nine",
        "415 555 01 99",
        "my number is 415 555 0199",
        "it's four one five double five five zero one nine nine",
        "four one five triple five zero one nine nine",
        "four fifteen five five five oh one ninety nine",
        "4155550199",
    ],
)
def test_parse_phone(said: str) -> None:
    assert parse_phone(said) == "+14155550199"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("+14155550123", "+14155550123"),
        ("800 555 0100", "+18005550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("plus four four two zero seven nine four six zero nine five eight", "+442079460958"),
    ],
)
def test_parse_phone_other_numbers(said: str, expected: str) -> None:
    assert parse_phone(said) == expected


def test_parse_phone_region_reads_national_numbers() -> None:
    assert parse_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    "said",
    ["", "no phone", "555 0199", "1234567890", "4 1 5", "9" * 30, "four one five five five five"],
)
def test_parse_phone_rejects(said: str) -> None:
    with pytest.raises(AnswerError, match="phone number"):
        parse_phone(said)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("bob underscore smith at acme dot io", "bob_smith@acme.io"),
        ("bob under score smith at acme dot io", "bob_smith@acme.io"),
        ("jane at example dot com", "jane@example.com"),
        ("Jane.Doe@Example.com", "jane.doe@example.com"),
        ("j o h n at gmail dot com", "john@gmail.com"),
        ("john dot doe at example dot co dot uk", "john.doe@example.co.uk"),
        ("mary dash ann at x dot org", "mary-ann@x.org"),
        ("mary hyphen ann at x dot org", "mary-ann@x.org"),
        ("mary-ann@x.org", "mary-ann@x.org"),
        ("bob plus tag at x dot com", "bob+tag@x.com"),
        ("my email is jane at example dot com", "jane@example.com"),
        ("my email address is jane at example dot com", "jane@example.com"),
        ("it's jane at example dot com.", "jane@example.com"),
        ("sure, it's jane@example.com.", "jane@example.com"),
        ("you can reach me at bob at acme dot com", "bob@acme.com"),
        ("email me at bob at acme dot com", "bob@acme.com"),
        ("pat at home at acme dot com", "patathome@acme.com"),
        ("john twenty three at gmail dot com", "john23@gmail.com"),
        ("john one two three at gmail dot com", "john123@gmail.com"),
        ("first dot last at example dot com", "first.last@example.com"),
        ("b as in boy o b at x dot com", "bob@x.com"),
        ("bob all one word at x dot com", "bob@x.com"),
        ("bob at sign x dot com", "bob@x.com"),
        ("bob at x period com", "bob@x.com"),
    ],
)
def test_parse_email(said: str, expected: str) -> None:
    assert parse_email(said) == expected


@pytest.mark.parametrize(
    "said", ["", "jane at example", "not an email", "at dot com", "jane@@example.com", "@"]
)
def test_parse_email_rejects(said: str) -> None:
    with pytest.raises(AnswerError, match="email address"):
        parse_email(said)
