"""The one normalisation and tokenisation layer every answer parser goes through.

Speech-to-text output is normalised (Unicode NFKC, one kind of apostrophe and dash, collapsed
whitespace), then split into tokens of three kinds:

* numerals: ASCII digit runs, possibly joined by ``.`` or ``,`` (``75,000``, ``415.555.0199``);
* words: letters with inner apostrophes or hyphens kept (``don't``, ``o'brien``, ``mary-jane``);
* any other single non-space character (``@``, ``/``, ``,``, ``$`` ...).

On top of that sit the shared helpers: phrase tables matched longest-first, skipping of fillers
("um", "uh"), removal of lead-ins ("my name is", "it's"), and expansion of spelling aids
("b as in boy", "double z").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from flows.errors import AnswerError

_CANONICAL_MARKS = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u00b4": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
_TOKEN = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['-][^\W\d_]+)*|\S")

# Hesitations STT transcribes; they never carry meaning.
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "hm", "mm", "ah"})
# Acknowledgements and greetings a caller says before the answer ("yeah, it's 334").
ACKNOWLEDGEMENTS = frozenset(
    {"yes", "yeah", "yep", "sure", "okay", "ok", "alright", "so", "well", "hi", "hello", "hey"}
)
# A lead-in is short; anything longer is probably the answer itself.
_LEAD_IN_MAX_WORDS = 6
_REPEATS = {"double": 2, "triple": 3}
_REPEATABLE_WORDS = frozenset(
    {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
)


def clean(text: str, *, lower: bool = True) -> str:
    """Normalise Unicode, apostrophes, dashes and whitespace (and case unless ``lower=False``)."""
    text = unicodedata.normalize("NFKC", text).translate(_CANONICAL_MARKS)
    if lower:
        text = text.lower()
    return " ".join(text.split())


def tokenize(text: str, *, lower: bool = True) -> list[str]:
    """Split cleaned text into numerals, words and single punctuation characters."""
    return _TOKEN.findall(clean(text, lower=lower))


def is_numeral(token: str) -> bool:
    """Whether a token is a numeral (tokens are never empty)."""
    return "0" <= token[0] <= "9"


def is_word(token: str) -> bool:
    """Whether a token is a word (letters, maybe with inner apostrophes or hyphens)."""
    return token[0].isalpha()


def token_at(tokens: Sequence[str], index: int) -> str:
    """``tokens[index]``, or "" past the end (so look-ahead needs no bounds checks)."""
    return tokens[index] if index < len(tokens) else ""


def numeral_digits(token: str) -> str:
    """The digits of a numeral, separators dropped: ``415.555.0199`` -> ``4155550199``."""
    return "".join(char for char in token if "0" <= char <= "9")


def digits_of(tokens: Sequence[str]) -> str:
    """The digits of every numeral in ``tokens``, in order; words are ignored."""
    return "".join(numeral_digits(token) for token in tokens if is_numeral(token))


def spoken_tokens(text: str) -> list[str]:
    """Tokens for dictation-style answers: hyphenated words split, spelling aids expanded."""
    split = [part for token in tokenize(text) for part in _split_hyphenated(token)]
    return expand_spelling(split)


def _split_hyphenated(token: str) -> list[str]:
    # "twenty-three" and "a-b-c" are dictated units; the hyphen is not part of the answer.
    return token.split("-") if is_word(token) else [token]


def expand_spelling(tokens: Sequence[str]) -> list[str]:
    """Expand "double u" -> w, "double z" -> z z, "triple seven" -> 7 x3, "b as in boy" -> b."""
    expanded: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = token_at(tokens, i + 1)
        if token == "double" and following in ("u", "you"):
            expanded.append("w")
            i += 2
        elif token in _REPEATS and _is_repeatable(following):
            expanded.extend([following] * _REPEATS[token])
            i += 2
        elif len(token) == 1 and token.isalpha() and list(tokens[i + 1 : i + 3]) == ["as", "in"]:
            # The word after "as in" only disambiguates the letter; it is not part of the answer.
            expanded.append(token)
            i += 4
        else:
            expanded.append(token)
            i += 1
    return expanded


def _is_repeatable(token: str) -> bool:
    return (len(token) == 1 and token.isalnum()) or token in _REPEATABLE_WORDS


@dataclass(frozen=True)
class Phrases:
    """A table of multi-word phrases matched against tokens, longest first."""

    entries: frozenset[tuple[str, ...]]
    longest: int

    @classmethod
    def of(cls, listing: str) -> Phrases:
        """Build a table from comma-separated phrases, tokenised like answers are."""
        entries = frozenset(tuple(tokenize(text)) for text in listing.split(",") if text.strip())
        return cls(entries, max((len(entry) for entry in entries), default=0))

    def match(self, tokens: Sequence[str], start: int) -> int:
        """Length of the longest phrase at ``tokens[start:]``, or 0 when none matches."""
        for length in range(min(self.longest, len(tokens) - start), 0, -1):
            if tuple(tokens[start : start + length]) in self.entries:
                return length
        return 0

    def removed_from(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` without every occurrence of a phrase (longest first)."""
        kept: list[str] = []
        index = 0
        while index < len(tokens):
            length = self.match(tokens, index)
            if not length:
                kept.append(tokens[index])
            index += length or 1
        return kept

    def contains(self, tokens: Sequence[str]) -> bool:
        """Whether any phrase occurs anywhere in ``tokens``."""
        return any(self.match(tokens, start) for start in range(len(tokens)))


# Where a lead-in ends: "my member id is", "this is", "I'm", "call me", "reach me at".
_LEAD_IN_ENDS = Phrases.of(
    "is, am, are, was, it's, its, that's, thats, i'm, im, name's, here's, call me, me at, us at"
)


def skip_noise(tokens: Sequence[str], start: int, *, skip: frozenset[str] = FILLERS) -> int:
    """Index of the first token from ``start`` that is neither punctuation nor in ``skip``."""
    while start < len(tokens) and (tokens[start] in skip or not tokens[start][0].isalnum()):
        start += 1
    return start


def strip_lead_in(tokens: Sequence[str]) -> list[str]:
    """Drop leading fillers, acknowledgements and a lead-in ("my member id is", "this is").

    ``tokens`` must be lower-case; use :func:`lead_in_length` to cut a case-preserving list.
    """
    return list(tokens[lead_in_length(tokens) :])


def lead_in_length(tokens: Sequence[str]) -> int:
    """How many leading tokens are fillers, acknowledgements or a lead-in."""
    noise = FILLERS | ACKNOWLEDGEMENTS
    start = skip_noise(tokens, 0, skip=noise)
    for index in range(start, min(start + _LEAD_IN_MAX_WORDS, len(tokens))):
        # Commas are STT pauses ("hi, this is"); anything else non-word is the answer itself.
        if not (is_word(tokens[index]) or tokens[index] == ","):
            break
        end = _LEAD_IN_ENDS.match(tokens, index)
        if end:
            return skip_noise(tokens, index + end, skip=noise)
    return start


def require_length(value: str, noun: str, minimum: int, maximum: int | None) -> str:
    """Return ``value`` if its length is within bounds, else raise an AnswerError naming them.

    ``noun`` is singular ("digit"); it is pluralised to agree with the bound.
    """
    if minimum <= len(value) and (maximum is None or len(value) <= maximum):
        return value
    if maximum is None:
        raise AnswerError(f"expected at least {_count(minimum, noun)}")
    if minimum == maximum:
        raise AnswerError(f"expected exactly {_count(minimum, noun)}")
    raise AnswerError(f"expected between {minimum} and {_count(maximum, noun)}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
