"""The phone keypad (DTMF): collecting key presses into entries, prompts and menus per field.

Pure: the room events that carry the keys are read by ``sip.dtmf``.

An entry ends with ``#``, after an inter-digit timeout, or as soon as it reaches the
longest answer the question can take (one key for a menu of up to nine options).
livekit's ``GetDtmfTask`` wants a fixed digit count and lives only while its own task
runs; intake fields have variable lengths and take keys at any time, hence this collector.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from flows.spec.fields import (
    AddressField,
    ChoiceField,
    DateField,
    DigitsField,
    FieldSpec,
    IntegerField,
    PhoneField,
    ScalarField,
    YesNoField,
)

YES_KEY, NO_KEY = "1", "2"
TERMINATOR = "#"
DEFAULT_INTER_DIGIT_TIMEOUT = 4.0


@dataclass(frozen=True)
class KeypadEntry:
    digits: str
    terminated: bool  # ended with '#', rather than by timeout or length


def keypad_prompt(field: FieldSpec | ScalarField) -> str:
    """Instructions spoken when a field switches to keypad entry."""
    if field.keypad:
        return field.keypad
    match field:
        case YesNoField():
            return f"Press {YES_KEY} for yes or {NO_KEY} for no."
        case ChoiceField():
            return menu_prompt([option.spoken for option in field.options])
        case DateField():
            return (
                "Please enter the date on your keypad as two-digit month, two-digit day, "
                "and four-digit year, then press pound."
            )
        case PhoneField():
            return "Please enter the phone number on your keypad, then press pound."
        case AddressField():
            return "Please enter the ZIP or postal code on your keypad, then press pound."
        case IntegerField() if field.min is not None and field.max is not None:
            return (
                f"Please enter a number from {field.min} to {field.max} on your keypad, "
                "then press pound."
            )
        case _:
            return f"Please enter the {field.label} on your keypad, then press pound."


def menu_prompt(labels: list[str]) -> str:
    parts = [f"press {i} for {label}" for i, label in enumerate(labels, start=1)]
    text = ", ".join(parts[:-1]) + f", or {parts[-1]}" if len(parts) > 1 else parts[0]
    return text[0].upper() + text[1:] + "."


def menu_choice(digits: str, count: int) -> int | None:
    """The zero-based option a menu key names, or None."""
    if digits.isdigit() and 1 <= int(digits) <= count:
        return int(digits) - 1
    return None


def keypad_text(field: FieldSpec | ScalarField, digits: str) -> str | None:
    """Keypad digits as an answer the field's parser understands; None if keys don't fit."""
    match field:
        case YesNoField():
            return {YES_KEY: "yes", NO_KEY: "no"}.get(digits)
        case ChoiceField():
            index = menu_choice(digits, len(field.options))
            return None if index is None else field.options[index].id
        case DateField() | PhoneField() | DigitsField() | IntegerField():
            return digits if digits.isdigit() else None
        case AddressField():  # keys give the postal code, the piece most often misheard
            return f"zip code {digits}" if digits.isdigit() and len(digits) in (5, 9) else None
    return None


def entry_length(field: FieldSpec | ScalarField | None) -> int | None:
    """The most keys an answer can take, so an entry can end without '#'."""
    match field:
        case YesNoField():
            return 1
        case ChoiceField() if len(field.options) <= 9:
            return 1
        case DateField():
            return 8
        case IntegerField() if field.max is not None and field.min is not None and field.min >= 0:
            return len(str(field.max))
        case DigitsField() if field.max_length is not None:
            return field.max_length
    return None


class KeypadCollector:
    """Buffers key presses and hands each finished entry to ``on_entry``.

    ``max_length`` is asked for at every key, since what a complete entry is depends on
    the question being asked at that moment.
    """

    def __init__(
        self,
        on_entry: Callable[[KeypadEntry], None],
        *,
        max_length: Callable[[], int | None] = lambda: None,
        inter_digit_timeout: float = DEFAULT_INTER_DIGIT_TIMEOUT,
    ) -> None:
        self._on_entry = on_entry
        self._max_length = max_length
        self._timeout = inter_digit_timeout
        self._buffer: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def press(self, key: str) -> None:
        self._cancel_timer()
        if key == TERMINATOR:
            self._finish(terminated=True)
            return
        if key == "*":  # star clears what was typed so far
            self._buffer.clear()
            return
        self._buffer.append(key)
        limit = self._max_length()
        if limit is not None and len(self._buffer) >= limit:
            self._finish(terminated=False)
            return
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self.flush)

    def flush(self) -> None:
        """End the entry now, as the inter-digit timeout does."""
        self._cancel_timer()
        if self._buffer:
            self._finish(terminated=False)

    def close(self) -> None:
        self._cancel_timer()
        self._buffer.clear()

    def _finish(self, *, terminated: bool) -> None:
        digits = "".join(self._buffer)
        self._buffer.clear()
        if digits:
            self._on_entry(KeypadEntry(digits=digits, terminated=terminated))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
