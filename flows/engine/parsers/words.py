"""Free-form word answers: names, verbatim text, and spelled letter-and-digit codes."""

from __future__ import annotations

import re

from flows.engine.parsers.normalize import (
    FILLERS,
    Phrases,
    is_numeral,
    is_word,
    lead_in_length,
    numeral_digits,
    require_length,
    spoken_tokens,
    strip_lead_in,
    tokenize,
)
from flows.engine.parsers.number_words import with_numerals
from flows.errors import AnswerError

_MAX_NAME_WORDS = 6
_LETTERS = re.compile(r"[^\W\d_]+")
# "Jane Doe here", "this is Jane speaking".
_NAME_TRAILERS = frozenset({"here", "speaking"})
# How letters are spoken when STT writes the word instead of the letter, NATO included.
_LETTER_NAMES = {
    "ay": "A", "alpha": "A", "bee": "B", "be": "B", "bravo": "B", "see": "C", "sea": "C",
    "charlie": "C", "dee": "D", "delta": "D", "echo": "E", "eff": "F", "foxtrot": "F",
    "gee": "G", "golf": "G", "aitch": "H", "hotel": "H", "eye": "I", "india": "I", "jay": "J",
    "juliet": "J", "juliett": "J", "kay": "K", "kilo": "K", "el": "L", "ell": "L", "lima": "L",
    "em": "M", "mike": "M", "en": "N", "november": "N", "oh": "O", "oscar": "O", "pee": "P",
    "papa": "P", "cue": "Q", "queue": "Q", "quebec": "Q", "ar": "R", "are": "R", "romeo": "R",
    "ess": "S", "sierra": "S", "tee": "T", "tea": "T", "tango": "T", "you": "U", "uniform": "U",
    "vee": "V", "victor": "V", "whiskey": "W", "whisky": "W", "ex": "X", "xray": "X",
    "why": "Y", "yankee": "Y", "zee": "Z", "zed": "Z", "zulu": "Z",
}  # fmt: skip
# Words that join the characters of a code but are not part of it.
_CODE_CONNECTORS = frozenset(
    {"dash", "hyphen", "space", "slash", "dot", "period", "point", "underscore"}
    | {"and", "then", "capital", "letter", "number"}
)


def parse_name(text: str) -> str:
    """Read a person's name: "my name is jane doe" -> "Jane Doe", "o'brien" -> "O'Brien".

    Said the way people say it: a repetition ("Anna, Anna Kowalski") or a self-correction
    ("Jon, no, John with an h") gives the name once; words that plainly answer another
    question ("yes", "tomorrow", "the morning") are not a name."""
    tokens = tokenize(text, lower=False)
    if any(is_numeral(token) for token in tokens):
        raise AnswerError("expected a name without numbers")
    tokens = _name_tokens(tokens)
    lowered = [token.lower() for token in tokens]
    start = lead_in_length(lowered)
    kept = [
        (tokens[index], lowered[index + 1 : index + 2] == ["."])
        for index in range(start, len(tokens))
        if is_word(tokens[index]) and lowered[index] not in FILLERS
    ]
    while kept and kept[-1][0].lower() in _NAME_TRAILERS:
        kept.pop()
    words = _join_spelled_letters(kept)
    if not words or all(word.lower() in _NOT_A_NAME for word in words):
        raise AnswerError("expected a name")
    if len(words) > _MAX_NAME_WORDS:
        raise AnswerError(f"expected a name of at most {_MAX_NAME_WORDS} words")
    return " ".join(_capitalise(word) for word in words)


# After these only what follows is the name ("Jon, no, John"; "Ann, sorry, Anne").
_NAME_CORRECTIONS = Phrases.of(
    "no, sorry, i mean, i meant, actually, wait, no wait, or rather, rather, scratch that, "
    "correction, not, make that"
)
# A spelling hint, up to the next pause ("John with an h, John Baker")...
_SPELLING_HINTS = Phrases.of("with a, with an, with two, with one, spelled, spelt, as in")
# ...and where the name ends and another sentence begins.
_NAME_ENDS = Phrases.of(
    """
    and i'm, and i am, and im, and i, and we, i'm calling, i am calling, calling about,
    calling for, calling from, from the, because
    """
)
# Whole answers made only of these answer another question (yes/no, times, the weather).
_NOT_A_NAME_WORDS = (
    "yes yeah yep yup no nope nah okay ok sure fine good great thanks thank you "
    "please hi hello hey what pardon sorry repeat again skip none nothing nobody "
    "later today tomorrow yesterday morning afternoon evening night noon monday "
    "tuesday wednesday thursday friday saturday sunday the a an my is it it's that's "
    "this me myself correct right wrong email phone number address name why who how "
    "huh help maybe idk dunno know don't not i i'm im same already told said"
)
_NOT_A_NAME = frozenset(_NOT_A_NAME_WORDS.split())
# Who the patient is to the caller, said before the name.
_RELATION_WORDS = (
    "son daughter wife husband mom mother dad father child kid baby patient partner "
    "brother sister friend it's for"
)
_RELATIONS = frozenset(_RELATION_WORDS.split())


def _name_tokens(tokens: list[str]) -> list[str]:
    """The tokens that say the name: after the last self-correction, before a spelling hint,
    with a leading repetition ("Anna, Anna Kowalski") dropped."""
    lowered = [token.lower() for token in tokens]
    start = 0
    for index in range(len(tokens)):
        length = _NAME_CORRECTIONS.match(lowered, index)
        if length and any(is_word(token) for token in tokens[index + length :]):
            start = index + length
    end = next(
        (i for i in range(start + 1, len(tokens)) if _NAME_ENDS.match(lowered, i)), len(tokens)
    )
    segments: list[list[str]] = [[]]
    hint = False
    for index in range(start, end):
        token = tokens[index]
        hint = (hint and token != ",") or bool(_SPELLING_HINTS.match(lowered, index))
        if hint:
            continue
        # A period after a one-letter word marks an initial ("J. R. Tolkien"); else a pause.
        last = segments[-1][-1] if segments[-1] else ""
        sentence_end = token == "." and len(last) > 1
        if (token in {",", ";"} or sentence_end) and segments[-1]:
            segments.append([])
        elif is_word(token) or token == ".":
            segments[-1].append(token)
    kept: list[list[str]] = []
    for segment, following in zip(segments, [*segments[1:], []], strict=True):
        said, again = _name_words(segment), _name_words(following)
        if said and said <= again:
            continue  # said again, more fully, right after
        if kept and (not said or said <= _name_words(kept[-1]) or _spelled_out(said)):
            continue  # "Luis Hernandez, Luis with an s"; "John Smith, that's J O H N"
        if following and said and said <= _NOT_A_NAME | _RELATIONS:
            continue  # "the patient is my son, Tyler Brooks"
        kept.append(segment)
    return [token for segment in kept for token in [*segment, ","]][:-1] if kept else []


def _spelled_out(words: set[str]) -> bool:
    return all(len(word) == 1 for word in words)


def _name_words(segment: list[str]) -> set[str]:
    lowered = [token.lower() for token in segment]
    return {word for word in lowered[lead_in_length(lowered) :] if is_word(word)} - FILLERS


def _join_spelled_letters(words: list[tuple[str, bool]]) -> list[str]:
    """Join letters spelled out ("j o h n") into a word; initials ("J. R.") stay apart.

    Each word comes with whether STT wrote a period after it, which marks an initial.
    """
    joined: list[str] = []
    spelling = ""
    for word, period in words:
        if len(word) == 1 and not period:
            spelling += word
            continue
        if spelling:
            joined.append(spelling)
            spelling = ""
        joined.append(word + "." if len(word) == 1 else word)
    if spelling:
        joined.append(spelling)
    return joined


def _capitalise(word: str) -> str:
    """Title-case each part ("mary-jane" -> "Mary-Jane"); keep deliberate mixed case (McDonald)."""
    if word != word.lower() and word != word.upper():
        return word
    return _LETTERS.sub(lambda letters: letters[0][:1].upper() + letters[0][1:], word.lower())


def parse_text(text: str) -> str:
    """Return what was said with whitespace trimmed and collapsed."""
    collapsed = " ".join(text.split())
    if not collapsed:
        raise AnswerError("expected an answer")
    return collapsed


def parse_alphanumeric(text: str, *, min_length: int = 1, max_length: int | None = None) -> str:
    """Read a code of letters and digits: "x y z one two three" -> "XYZ123"."""
    characters: list[str] = []
    for token in with_numerals(strip_lead_in(spoken_tokens(text))):
        if is_numeral(token):
            characters.append(numeral_digits(token))
        elif token in _LETTER_NAMES:
            characters.append(_LETTER_NAMES[token])
        elif is_word(token) and token not in _CODE_CONNECTORS and token not in FILLERS:
            characters.append(token.upper())
    code = "".join(characters)
    if not code:
        raise AnswerError("expected letters and digits")
    return require_length(code, "character", min_length, max_length)
