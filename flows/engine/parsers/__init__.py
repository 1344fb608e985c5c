"""Answer parsers: what a caller said (STT text or keypad digits) -> a normalised value.

Every parser is pure, synchronous and total: on any ``str`` it returns a value or raises
:class:`flows.errors.AnswerError`, whose message says what was expected and never quotes the
caller. :mod:`flows.readback` holds the inverse renderings an agent speaks.
"""

from flows.parsers.choice import ChoiceOption, parse_choice
from flows.parsers.contact import parse_email, parse_phone
from flows.parsers.dates import parse_date
from flows.parsers.lists import is_none_answer, parse_list
from flows.parsers.numbers import parse_digits, parse_integer, parse_number
from flows.parsers.words import parse_alphanumeric, parse_name, parse_text
from flows.parsers.yes_no import parse_yes_no

__all__ = [
    "ChoiceOption",
    "is_none_answer",
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
]
