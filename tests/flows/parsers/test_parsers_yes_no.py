"""Yes/no answers."""

from __future__ import annotations

import pytest

from flows.engine.parsers import parse_yes_no
from flows.errors import AnswerError

YES = [
    "yes",
    "Yes.",
    "YES!",
    "yeah",
    "yep",
    "yup",
    "sure",
    "correct",
    "that's right",
    "that\u2019s right",
    "right",
    "absolutely",
    "of course",
    "definitely",
    "I do",
    "I am",
    "it is",
    "uh-huh",
    "uh huh",
    "mhm",
    "mm-hmm",
    "ok",
    "okay",
    "okay, thanks",
    "sounds good",
    "go ahead",
    "please do",
    "affirmative",
    "yes it was",
    "yeah I think so",
    "um, yes please",
    "oh yeah sure",
    "I do, yes",
    "no problem",
    "yes, it's march sixth",
]
NO = [
    "no",
    "No.",
    "nope",
    "nah",
    "not really",
    "no thanks",
    "no thank you",
    "I don't",
    "I'm not",
    "it isn't",
    "incorrect",
    "that's wrong",
    "negative",
    "not now",
    "no it wasn't",
    "no, it's march sixth",
    "uh-uh",
    "absolutely not",
    "I don't think so",
    "um no",
]
AMBIGUOUS = [
    "",
    "yes and no",
    "yeah, no",
    "no, yes",
    "maybe",
    "I'm not sure",
    "I don't know",
    "I don't remember",
    "probably",
    "yes, maybe",
    "okay so my number is five",
    "it's march sixth",
    "the weather",
    "1",
    "2",
]


@pytest.mark.parametrize("said", YES)
def test_yes(said: str) -> None:
    assert parse_yes_no(said) is True


@pytest.mark.parametrize("said", NO)
def test_no(said: str) -> None:
    assert parse_yes_no(said) is False


@pytest.mark.parametrize("said", AMBIGUOUS)
def test_ambiguous_or_unrelated(said: str) -> None:
    with pytest.raises(AnswerError, match="expected yes or no"):
        parse_yes_no(said)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have a few minutes", True),
        ("sure, now is fine", True),
        ("that's fine", True),
        ("go for it", True),
        ("sorry, I'm busy", False),
        ("now is not a good time", False),
        ("can you call me back later", False),
        ("I'm not interested", False),
    ],
)
def test_welcome_question_answers(text: str, expected: bool) -> None:
    """How people answer "is now a good time for a two-minute survey?"."""
    assert parse_yes_no(text) is expected
