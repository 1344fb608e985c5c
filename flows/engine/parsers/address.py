"""Postal addresses, said in one go or piece by piece (the counterpart of LiveKit's
GetAddressTask).

US addresses are tagged by usaddress (a trained CRF model) once spoken numbers are digits
and the state and ZIP code, which callers say last, are read off the end with the table
below. Addresses elsewhere are kept as the caller said them, with their country: no
library reads every country's format, and a wrong split is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import usaddress

from flows.engine.parsers.normalize import (
    FILLERS,
    Phrases,
    is_numeral,
    numeral_digits,
    spoken_tokens,
    strip_lead_in,
)
from flows.engine.parsers.number_words import with_numerals
from flows.engine.parsers.regions import named_region
from flows.errors import AnswerError

PARTS = ("street", "unit", "city", "region", "postal_code", "country")
Address = dict[str, str | None]

_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "FL": "florida", "GA": "georgia",
    "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana", "IA": "iowa",
    "KS": "kansas", "KY": "kentucky", "LA": "louisiana", "ME": "maine", "MD": "maryland",
    "MA": "massachusetts", "MI": "michigan", "MN": "minnesota", "MS": "mississippi",
    "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada",
    "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico", "NY": "new york",
    "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma",
    "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina",
    "SD": "south dakota", "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont",
    "VA": "virginia", "WA": "washington", "WV": "west virginia", "WI": "wisconsin",
    "WY": "wyoming", "DC": "district of columbia", "PR": "puerto rico",
}  # fmt: skip
_STATE_NAMES = {tuple(name.split()): code for code, name in _STATES.items()}
_STATE_WORDS = max(len(name) for name in _STATE_NAMES)
# Lead-ins besides the usual "it's", "my address is".
_LEAD_INS = Phrases.of(
    "i live at, we live at, we're at, we are at, i'm at, i am at, located at, it's at, "
    "that's at, send it to, the address is"
)
_ZIP_WORDS = Phrases.of("zip code, zip, postal code, postcode, and the zip is, the zip is")
_UNIT_WORDS = frozenset({"apartment", "apt", "unit", "suite", "ste", "number", "floor", "room"})
_STATE_SHORT = {"mass": "MA", "calif": "CA", "cali": "CA", "penn": "PA", "fla": "FL", "tex": "TX"}
_STREET_TAGS = (
    "AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix", "StreetNamePreModifier",
    "StreetNamePreDirectional", "StreetNamePreType", "StreetName", "StreetNamePostType",
    "StreetNamePostDirectional", "USPSBoxType", "USPSBoxID", "USPSBoxGroupType",
    "USPSBoxGroupID",
)  # fmt: skip
_UNIT_TAGS = ("OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier")
_ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
_UPPER = frozenset({"nw", "ne", "sw", "se", "n", "s", "e", "w", "po"})


@dataclass(frozen=True)
class AddressReading:
    """What an answer (or several, joined) says of an address, and what it still lacks."""

    value: Address
    missing: tuple[str, ...]


def parse_address(text: str, *, region: str = "US") -> Address:
    """A whole address: {street, unit, city, region, postal_code, country}."""
    reading = read_address(text, region=region)
    if reading.missing:
        raise AnswerError("expected the whole address: " + ", ".join(reading.missing))
    return reading.value


def read_address(text: str, *, region: str = "US") -> AddressReading:
    """Read what there is; ``missing`` names the parts still to ask for. ``region`` is
    the country of an address whose country is not named."""
    tokens = [t for t in spoken_tokens(text) if t not in FILLERS]
    country = named_region(tokens) or region
    tokens = _strip_lead_ins(tokens)
    if not any(token[0].isalnum() for token in tokens):
        raise AnswerError("expected an address")
    if country != "US":
        return AddressReading(_address(street=_as_given(text), country=country), ())
    return _read_us(tokens)


def _as_given(text: str) -> str:
    """The caller's words, without a lead-in or a first clause that only names the
    country ("it's a UK address, 10 Downing Street ...")."""
    clauses = [clause.strip(" .") for clause in " ".join(text.split()).split(",")]
    while len(clauses) > 1 and not any(char.isdigit() for char in clauses[0]):
        if named_region(spoken_tokens(clauses[0])) is None:
            break
        clauses.pop(0)
    given = ", ".join(clause for clause in clauses if clause)
    tokens = spoken_tokens(given)
    lead = len(tokens) - len(_strip_lead_ins(tokens))
    if lead:  # drop as many words from the front as the lead-in had
        given = " ".join(given.split()[lead:])
    return given


def _strip_lead_ins(tokens: list[str]) -> list[str]:
    tokens = strip_lead_in(tokens)
    length = _LEAD_INS.match(tokens, 0)
    return tokens[length:]


def _read_us(tokens: list[str]) -> AddressReading:
    words = _ZIP_WORDS.removed_from([t for t in tokens if t not in {".", "#"}])
    words = _digits_joined(with_numerals(_with_ordinals(words)))
    tagged = _tag(words)
    if tagged is None:  # the state and ZIP read off the end help the model with the rest
        rest, postal_code = _take_zip(words)
        rest, state = _take_state(rest)
        tagged = _tag(rest) or {}
        tagged.setdefault("ZipCode", postal_code or "")
        tagged.setdefault("StateName", state or "")
    parts: dict[str, list[str]] = {"street": [], "unit": [], "city": []}
    state = postal_code = None
    for tag, said in tagged.items():
        if tag in _STREET_TAGS:
            parts["street"].append(said)
        elif tag in _UNIT_TAGS:
            parts["unit"].append(said)
        elif tag == "PlaceName":
            parts["city"].append(said)
        elif tag == "StateName" and said:
            state = _state_code(said.replace(".", " ").split())
        elif tag == "ZipCode" and said:
            postal_code = _zip(said)
    value = _address(
        street=_title(parts["street"]),
        unit=_title(parts["unit"]),
        city=_title(parts["city"]),
        region=state,
        postal_code=postal_code,
        country="US",
    )
    missing = []
    if not any(char.isdigit() for char in value["street"] or ""):
        missing.append("street address")
    if not postal_code and not (value["city"] and state):  # a ZIP code or city and state
        missing += [name for name, part in (("city", value["city"]), ("state", state)) if not part]
        missing.append("ZIP code")
    return AddressReading(value, tuple(missing))


def _tag(words: list[str]) -> dict[str, str] | None:
    text = " ".join(words).replace(" ,", ",").strip(" ,")
    if not text:
        return {}
    try:
        tagged, _ = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return None
    return dict(tagged)


def _zip(value: str) -> str | None:
    digits = numeral_digits(value)
    if len(digits) == 9:
        return f"{digits[:5]}-{digits[5:]}"
    return digits if len(digits) == 5 else None


def _with_ordinals(tokens: list[str]) -> list[str]:
    """ "5", "th" -> "5th": the tokenizer splits a numeral from its ordinal suffix."""
    joined: list[str] = []
    for token in tokens:
        if token in _ORDINAL_SUFFIXES and joined and is_numeral(joined[-1]):
            joined[-1] += token
        else:
            joined.append(token)
    return joined


def _digits_joined(tokens: list[str]) -> list[str]:
    """Runs of spoken digits become one numeral ("one two three" -> 123, "six two seven oh
    four" -> 62704); a unit's letter joins its number ("four b" -> 4B)."""
    joined: list[str] = []
    for token in tokens:
        previous = joined[-1] if joined else ""
        if token.isdigit() and previous.isdigit():
            joined[-1] = numeral_digits(previous) + numeral_digits(token)
        elif (
            len(token) == 1
            and token.isalpha()
            and previous
            and is_numeral(previous)
            and len(joined) >= 2
            and joined[-2].lower() in _UNIT_WORDS
        ):
            joined[-1] = previous + token.upper()
        else:
            joined.append(token)
    return joined


def _take_zip(words: list[str]) -> tuple[list[str], str | None]:
    """The last five-digit (or ZIP+4) numeral ("zip code" was removed before)."""
    for index in range(len(words) - 1, -1, -1):
        digits = numeral_digits(words[index]) if is_numeral(words[index]) else ""
        if len(digits) in (5, 9) and (index > 0 or len(words) == 1):
            return words[:index] + words[index + 1 :], _zip(digits)
    return words, None


def _take_state(words: list[str]) -> tuple[list[str], str | None]:
    """A state (name or two letters) said at the end."""
    trimmed = list(words)
    while trimmed and trimmed[-1] in {",", "and"}:
        trimmed.pop()
    for length in range(min(_STATE_WORDS, len(trimmed) - 1), 0, -1):
        code = _state_code(trimmed[-length:])
        if code:
            return trimmed[:-length], code
    return words, None


def _state_code(words: list[str]) -> str | None:
    lowered = tuple(word.lower().strip(".,") for word in words)
    if len(lowered) == 1 and lowered[0].upper() in _STATES:
        return lowered[0].upper()
    if lowered == ("d", "c") or lowered == ("washington", "d", "c"):
        return "DC"
    if len(lowered) == 1 and lowered[0] in _STATE_SHORT:
        return _STATE_SHORT[lowered[0]]
    return _STATE_NAMES.get(lowered)


def _title(words: list[str]) -> str | None:
    text = " ".join(" ".join(words).replace(",", " ").split())
    if not text:
        return None
    return " ".join(_cased(word) for word in text.split())


def _cased(word: str) -> str:
    """ "main" -> "Main", "nw" -> "NW", "4b" -> "4B", "5TH" -> "5th"."""
    if word[:1].isdigit():
        return word.lower() if word[-2:].lower() in _ORDINAL_SUFFIXES else word.upper()
    return word.upper() if word.lower() in _UPPER else word.capitalize()


def _address(**parts: str | None) -> Address:
    return {part: parts.get(part) for part in PARTS}
