"""Phone numbers (to E.164) and email addresses, spoken or written."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from flows.engine.parsers.normalize import (
    Phrases,
    digits_of,
    expand_spelling,
    is_numeral,
    spoken_tokens,
    strip_lead_in,
    token_at,
    tokenize,
)
from flows.engine.parsers.number_words import with_numerals
from flows.engine.parsers.regions import named_region
from flows.engine.phones import to_e164
from flows.errors import AnswerError

# The longest any E.164 number can be, plus a trunk prefix some callers say.
_MAX_PHONE_DIGITS = 17
_INTERNATIONAL = frozenset({"+", "plus"})
# How to say each symbol of an address (readback uses these) and what else callers say.
EMAIL_SYMBOL_NAMES = {
    "@": "at",
    ".": "dot",
    "_": "underscore",
    "-": "dash",
    "+": "plus",
    "'": "apostrophe",
}
_AT = EMAIL_SYMBOL_NAMES["@"]
_EMAIL_SYMBOL_WORDS = {name: symbol for symbol, name in EMAIL_SYMBOL_NAMES.items() if name != _AT}
_EMAIL_SYMBOL_WORDS |= {"period": ".", "point": ".", "hyphen": "-", "minus": "-"}
# Two-word names of symbols, checked before single words.
_EMAIL_SYMBOL_PAIRS = {("under", "score"): "_", ("at", "sign"): "@", ("at", "symbol"): "@"}
# Dictation instructions, not part of the address.
_EMAIL_INSTRUCTIONS = Phrases.of(
    """
    all one word, one word, no spaces, all lowercase, all lower case, lowercase,
    lower case, capital, small
    """
)


def parse_phone(text: str, *, region: str = "US") -> str:
    """Read a phone number: "four one five five five five zero one nine nine" -> +14155550199.

    ``region`` decides how a number without a country code is read, unless the caller
    names the country ("it's a UK number, oh two oh ...").
    """
    tokens = with_numerals(spoken_tokens(text))
    region = named_region(tokens) or region
    digits = digits_of(tokens)
    if not digits or len(digits) > _MAX_PHONE_DIGITS:
        raise AnswerError("expected a phone number with its area code")
    first_numeral = next(index for index, token in enumerate(tokens) if is_numeral(token))
    international = not _INTERNATIONAL.isdisjoint(tokens[:first_numeral])
    return to_e164(("+" if international else "") + digits, region)


def parse_email(text: str) -> str:
    """Read an email address: "bob underscore smith at acme dot io" -> bob_smith@acme.io."""
    # Hyphens stay inside words here: "mary-ann@example.org" is one local part.
    # Commas are STT's pauses ("jane at example dot com, all one word"), never an address's.
    tokens = strip_lead_in(expand_spelling([t for t in tokenize(text) if t != ","]))
    parts = _address_parts(with_numerals(_EMAIL_INSTRUCTIONS.removed_from(tokens)))
    address = "".join(parts).strip(".")
    try:
        validated = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        raise AnswerError("expected an email address, like name at example dot com") from None
    return validated.normalized.lower()


def _address_parts(tokens: list[str]) -> list[str]:
    """Turn spoken symbols into characters; the last spoken "at" is the @ sign.

    A local part may contain the word ("pat at example dot com"), a domain never does.
    """
    spoken_ats = [index for index, token in enumerate(tokens) if token == _AT]
    at_index = spoken_ats[-1] if spoken_ats and "@" not in tokens else -1
    parts: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        pair = _EMAIL_SYMBOL_PAIRS.get((token, token_at(tokens, index + 1)))
        if pair:
            parts.append(pair)
            index += 2
            continue
        if index == at_index:
            parts.append("@")
        elif token in _EMAIL_SYMBOL_WORDS:
            parts.append(_EMAIL_SYMBOL_WORDS[token])
        else:
            parts.append(token)
        index += 1
    return parts
