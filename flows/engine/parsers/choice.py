"""Choosing one option from a list: by words, by a number inside an option's range, or fuzzily.

Steps, first hit wins:

1. an option's id (underscores as spaces), label or a synonym is the whole answer or occurs in
   it as whole words ("it was a plumbing issue"); when one mention lies inside a longer one of
   another option ("air" inside "air conditioning") the longer wins; two options -> ambiguous;
2. a number in the answer falls in exactly one option's ``[minimum, maximum)`` range; after
   "under"/"less than" the number is an upper limit ("under ten thousand" is below 10000);
3. one option's phrase is a close spelling of words in the answer ("plumming").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from flows.engine.parsers.normalize import Phrases, is_word, spoken_tokens
from flows.engine.parsers.number_words import NUMBER_WORDS
from flows.engine.parsers.numbers import parse_number
from flows.errors import AnswerError

# One wrong letter in an eight-letter word ("plumming") scores 87.5; in a six-letter word, 83.
_FUZZY_THRESHOLD = 85.0
# Very short phrases ("ac", "tv") match too much by spelling alone.
_FUZZY_MIN_CHARS = 4
# The number after these is a limit the amount stays under, not the amount itself.
_PRONOUN_LIKE = frozenset({"one", "a", "an"})
_UPPER_LIMIT = Phrases.of("under, below, less than, fewer than, up to, at most, no more than")


@dataclass(frozen=True)
class ChoiceOption:
    """One answer a choice question accepts."""

    id: str
    label: str
    synonyms: tuple[str, ...] = ()
    minimum: float | None = None  # inclusive lower bound of the numeric range this option covers
    maximum: float | None = None  # exclusive upper bound; None = unbounded


@dataclass(frozen=True)
class _Mention:
    option_id: str
    start: int
    end: int

    def inside(self, other: _Mention) -> bool:
        inner = other.start <= self.start and self.end <= other.end
        return inner and (self.end - self.start) < (other.end - other.start)


def parse_choice(text: str, options: Sequence[ChoiceOption]) -> str:
    """Return the id of the option the caller chose."""
    answer = _words(text)
    chosen = _by_words(answer, options)
    if chosen is None:
        chosen = _by_range(answer, text, options)
    if chosen is None:
        chosen = _by_spelling(answer, options)
    if chosen is None:
        raise AnswerError(f"expected one of: {_labels(options)}")
    return chosen


def _words(text: str) -> tuple[str, ...]:
    return tuple(token for token in spoken_tokens(text) if token[0].isalnum())


@lru_cache(maxsize=1024)
def _phrases(option: ChoiceOption) -> tuple[tuple[str, ...], ...]:
    """The option's id, label and synonyms as word sequences (cached: options are reused)."""
    texts = (option.id.replace("_", " "), option.label, *option.synonyms)
    return tuple(words for words in map(_words, texts) if words)


def _by_words(answer: tuple[str, ...], options: Sequence[ChoiceOption]) -> str | None:
    exact = {option.id for option in options if answer in _phrases(option)}
    if len(exact) == 1:
        return exact.pop()
    mentions = [
        _Mention(option.id, start, start + len(phrase))
        for option in options
        for phrase in _phrases(option)
        for start in range(len(answer) - len(phrase) + 1)
        if answer[start : start + len(phrase)] == phrase
    ]
    outermost = {
        mention.option_id
        for mention in mentions
        if not any(
            mention.inside(other) for other in mentions if other.option_id != mention.option_id
        )
    }
    return _one(outermost, options)


def _by_range(answer: tuple[str, ...], text: str, options: Sequence[ChoiceOption]) -> str | None:
    ranged = [option for option in options if (option.minimum, option.maximum) != (None, None)]
    if not ranged or not _says_an_amount(answer):
        return None
    try:
        value = parse_number(text)
    except AnswerError:
        return None
    limit = _UPPER_LIMIT.contains(answer)
    return _one({option.id for option in ranged if _covers(option, value, limit)}, options)


def _says_an_amount(answer: tuple[str, ...]) -> bool:
    """Numerals or number words beyond a lone "one"/"a" ("we don't have one yet" is no amount)."""
    return any(
        token[0].isdigit() or (token in NUMBER_WORDS and token not in _PRONOUN_LIKE)
        for token in answer
    )


def _covers(option: ChoiceOption, value: float, limit: bool) -> bool:
    """Whether ``value`` is in ``[minimum, maximum)``; as a limit, whether just below it is."""
    if limit:
        above = option.minimum is None or value > option.minimum
        return above and (option.maximum is None or value <= option.maximum)
    above = option.minimum is None or value >= option.minimum
    return above and (option.maximum is None or value < option.maximum)


def _by_spelling(answer: tuple[str, ...], options: Sequence[ChoiceOption]) -> str | None:
    close: set[str] = set()
    for option in options:
        for phrase in _phrases(option):
            spelled = " ".join(phrase)
            if len(spelled) < _FUZZY_MIN_CHARS or not any(map(is_word, phrase)):
                continue
            windows = (
                " ".join(answer[start : start + len(phrase)])
                for start in range(len(answer) - len(phrase) + 1)
            )
            if any(fuzz.ratio(window, spelled) >= _FUZZY_THRESHOLD for window in windows):
                close.add(option.id)
    return _one(close, options)


def _one(option_ids: set[str], options: Sequence[ChoiceOption]) -> str | None:
    """The single option id, None when there is none; several are ambiguous."""
    if len(option_ids) > 1:
        raise AnswerError(f"expected just one of: {_labels(options)}")
    return next(iter(option_ids), None)


def _labels(options: Sequence[ChoiceOption]) -> str:
    return ", ".join(option.label for option in options)
