"""Choosing one option from a list: by scored phrases, by a number in a range, or fuzzily.

Steps, first hit wins:

1. the whole answer is an option's id (underscores as spaces), label or synonym;
2. every option's phrases are found in the answer as whole words and scored by how many
   words they cover. A mention inside a longer one of another option ("air" inside "air
   conditioning") does not count; a negated one ("not the morning") counts for nothing,
   a hedged one ("maybe later this year") for half; after a self-correction ("morning,
   actually afternoon") only what follows counts. The best score wins; a tie is
   ``AmbiguousAnswer`` naming both options, so the caller is asked which one;
3. a number in the answer falls in exactly one option's ``[minimum, maximum)`` range; after
   "under"/"less than" the number is an upper limit ("under ten thousand" is below 10000);
   an amount beats an "I don't know" said with it ("not sure, maybe twenty grand");
4. an "I don't know" in any words ("no budget decided", "hard to say") picks the option
   that stands for not knowing (one whose id, label or synonyms say so);
5. one option's phrase is a close spelling of words in the answer ("plumming").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from flows.engine.parsers.normalize import Phrases, is_word, spoken_tokens
from flows.engine.parsers.number_words import NUMBER_WORDS
from flows.engine.parsers.numbers import parse_number
from flows.errors import AmbiguousAnswer, AnswerError

# One wrong letter in an eight-letter word ("plumming") scores 87.5; in a six-letter word, 83.
_FUZZY_THRESHOLD = 85.0
# Very short phrases ("ac", "tv") match too much by spelling alone.
_FUZZY_MIN_CHARS = 4
# The number after these is a limit the amount stays under, not the amount itself.
_PRONOUN_LIKE = frozenset({"one", "a", "an"})
_UPPER_LIMIT = Phrases.of("under, below, less than, fewer than, up to, at most, no more than")
# Just before a mention: it is what the caller does not mean...
_NEGATORS = frozenset(
    {"not", "no", "never", "isn't", "wasn't", "aren't", "without", "nothing", "neither", "nor"}
)
# ...or what they are unsure of (worth half).
_HEDGES = frozenset({"maybe", "possibly", "perhaps", "might", "could", "guess", "unless"})
_LOOK_BEHIND = 2
# After these only the rest of the answer counts ("morning, actually afternoon").
_SELF_CORRECTIONS = Phrases.of(
    "actually, i mean, no wait, wait, or rather, rather, scratch that, make that, sorry, "
    "correction, on second thought"
)
# Ways of not knowing; the option standing for that is the answer.
_DONT_KNOW = Phrases.of(
    """
    don't know, dont know, do not know, dunno, no idea, not sure, unsure, no clue,
    not certain, hard to say, difficult to say, tough to say, can't say, cannot say,
    couldn't say, hard to tell, can't tell, not decided, undecided, haven't decided,
    have not decided, not yet decided, no budget, not set, haven't set, nothing set,
    no set budget, to be determined, tbd, still figuring, figuring it out, we'll see,
    depends, it depends, up in the air, not determined, unknown, not clear, unclear
    """
)
_UNKNOWN_IDS = frozenset({"unknown", "not_sure", "unsure", "dont_know", "undecided", "tbd"})


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
    exact = {option.id for option in options if answer in _phrases(option)}
    if len(exact) == 1:
        return exact.pop()
    chosen = _by_words(answer, options)
    if chosen is not None and chosen in _unknown_ids(options):
        chosen = _by_range(answer, text, options) or chosen
    if chosen is None:
        chosen = _by_range(answer, text, options)
    if chosen is None:
        chosen = _by_not_knowing(answer, options)
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
    start = _after_last_correction(answer)
    mentions = {  # a set: the id and the label are often the same words
        _Mention(option.id, begin, begin + len(phrase))
        for option in options
        for phrase in _phrases(option)
        for begin in range(start, len(answer) - len(phrase) + 1)
        if answer[begin : begin + len(phrase)] == phrase
    }
    if not mentions and start:
        return _by_words(answer[:start], options)  # "electrical, sorry" corrects nothing
    scores: dict[str, float] = {}
    for mention in sorted(mentions, key=lambda m: (m.start, m.end, m.option_id)):
        if any(mention.inside(other) for other in mentions if other.option_id != mention.option_id):
            continue
        if any(mention.inside(other) for other in mentions if other.option_id == mention.option_id):
            continue  # "air conditioning" counts once, not again for "air"
        scores[mention.option_id] = scores.get(mention.option_id, 0.0) + _weight(answer, mention)
    return _best(scores, options)


def _after_last_correction(answer: tuple[str, ...]) -> int:
    last = 0
    for index in range(len(answer)):
        length = _SELF_CORRECTIONS.match(answer, index)
        if length:
            last = index + length
    return last


def _weight(answer: tuple[str, ...], mention: _Mention) -> float:
    before = answer[max(0, mention.start - _LOOK_BEHIND) : mention.start]
    if _NEGATORS.intersection(before):
        return 0.0
    words = float(mention.end - mention.start)
    return words / 2 if _HEDGES.intersection(before) else words


def _best(scores: dict[str, float], options: Sequence[ChoiceOption]) -> str | None:
    ranked = sorted(
        ((score, option) for option in options if (score := scores.get(option.id, 0.0)) > 0),
        key=lambda pair: -pair[0],
    )
    if not ranked:
        return None
    if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
        first, second = sorted((ranked[0][1], ranked[1][1]), key=options.index)
        raise AmbiguousAnswer(
            f"expected just one of: {first.label} or {second.label}", (first.label, second.label)
        )
    return ranked[0][1].id


def _unknown_ids(options: Sequence[ChoiceOption]) -> set[str]:
    """Options that stand for not knowing: by id, or by a phrase that says so."""
    return {
        option.id
        for option in options
        if option.id in _UNKNOWN_IDS
        or any(_DONT_KNOW.contains(phrase) for phrase in _phrases(option))
    }


def _by_not_knowing(answer: tuple[str, ...], options: Sequence[ChoiceOption]) -> str | None:
    if not _DONT_KNOW.contains(answer):
        return None
    unknown = _unknown_ids(options)
    return next(iter(unknown)) if len(unknown) == 1 else None


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
