"""Answer parsers: what a caller said (STT text or keypad digits) -> a normalised value.

Every parser is pure, synchronous and total: on any ``str`` it returns a value or raises
:class:`flows.errors.AnswerError`, whose message says what was expected and never quotes the
caller. :mod:`flows.engine.readback` holds the inverse renderings an agent speaks.
"""

from flows.engine.parsers.address import AddressReading, parse_address, read_address
from flows.engine.parsers.choice import ChoiceOption, parse_choice
from flows.engine.parsers.contact import parse_email, parse_phone
from flows.engine.parsers.dates import parse_date
from flows.engine.parsers.lists import is_none_answer, parse_list
from flows.engine.parsers.numbers import parse_digits, parse_integer, parse_number
from flows.engine.parsers.words import parse_alphanumeric, parse_name, parse_text
from flows.engine.parsers.yes_no import parse_yes_no

__all__ = [
    "AddressReading",
    "ChoiceOption",
    "is_none_answer",
    "parse_address",
    "parse_alphanumeric",
    "parse_choice",
    "parse_date",
    "parse_digits",
    "parse_email",
    "parse_integer",
    "parse_list",
    "parse_name",
    "parse_number",
    "parse_phone",
    "parse_text",
    "parse_yes_no",
    "read_address",
]
