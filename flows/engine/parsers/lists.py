"""Answers that list things ("penicillin, peanuts and shellfish") or say there are none."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from flows.engine.parsers.normalize import (
    ACKNOWLEDGEMENTS,
    FILLERS,
    Phrases,
    clean,
    skip_noise,
    tokenize,
)
from flows.errors import AnswerError

T = TypeVar("T")

# How a "none" answer starts...
_NONE_LEADS = Phrases.of(
    """
    none, no, nope, nah, nothing, zero, n/a, na, not, negative, i don't, i dont,
    i do not, i have no, i have none, i'm not, i am not, there are none,
    there aren't any, there is nothing, not that i know of
    """
)
# ...and everything that may follow it without turning it into something else:
# "none that I know of", "no known drug allergies", "I don't have any". "I don't know" is not.
_NONE_FOLLOWERS = Phrases.of(
    """
    that i know of, that i'm aware of, that i am aware of, as far as i know, known,
    allergies, allergy, medications, medication, meds, drug, drugs, food, conditions,
    problems, issues, surgeries, at all, thanks, thank you, really, none, nothing,
    currently, whatsoever, else, for me, have, any, take, taking, on, there, are, is,
    allergic to, anything, no, nope, so far, right now, i, i don't, i do not, i'm, am,
    not
    """
)
# Said before or between items, not part of any: "I'm allergic to penicillin", "just latex".
_ITEM_LEAD_INS = [
    "i'm allergic to",
    "i am allergic to",
    "i'm also allergic to",
    "allergic to",
    "i take",
    "i'm taking",
    "i am taking",
    "i'm on",
    "i am on",
    "i have",
    "just",
    "only",
]
_LEAD_IN = re.compile(
    r"^(?:(?:{noise})\b[\s,.!]*)*(?:(?:{lead_ins})\b\s*)*".format(
        noise="|".join(map(re.escape, sorted(FILLERS | ACKNOWLEDGEMENTS))),
        lead_ins="|".join(map(re.escape, sorted(_ITEM_LEAD_INS, key=len, reverse=True))),
    ),
    re.IGNORECASE,
)
# Commas, "and"-like words, and sentence ends (STT punctuates pauses: "Penicillin. Latex.").
_SEPARATORS = re.compile(
    r"(?:\s*(?:[,;&]|[.!?](?=\s)|\b(?:and also|and then|as well as|and|plus|also)\b)\s*)+",
    re.IGNORECASE,
)
_CLOSINGS = frozenset({"that's it", "that's all", "that's everything", "nothing else"})
_ITEM_EDGES = " .!?,;:"


def is_none_answer(text: str) -> bool:
    """Whether the caller said there are none: "none", "no known allergies", "n/a", "zero"."""
    tokens = tokenize(text)
    index = skip_noise(tokens, 0)
    lead = _NONE_LEADS.match(tokens, index)
    if not lead:
        return False
    index = skip_noise(tokens, index + lead)
    while index < len(tokens):
        follower = _NONE_FOLLOWERS.match(tokens, index)
        if not follower:
            return False
        index = skip_noise(tokens, index + follower)
    return True


def parse_list(text: str, *, item: Callable[[str], T]) -> list[T]:
    """Split a listing answer into items, each read with ``item``; a none answer is ``[]``.

    Empty items are dropped and repeats removed, keeping the first; an AnswerError from
    ``item`` propagates.
    """
    if is_none_answer(text):
        return []
    values: list[T] = []
    pieces = _SEPARATORS.split(clean(text, lower=False))
    for piece in pieces:
        trimmed = _LEAD_IN.sub("", piece.strip(_ITEM_EDGES)).strip(_ITEM_EDGES)
        if not trimmed or trimmed.lower() in _CLOSINGS:
            continue
        value = item(trimmed)
        if value not in values:
            values.append(value)
    if not values:
        raise AnswerError("expected a list of items, or none")
    return values
