"""The caller's key presses as LiveKit SIP reports them: ``sip_dtmf_received`` room events.

What an entry is (``#``, timeouts, lengths) is the keypad's business (``flows.engine.keypad``);
this module only feeds it the keys of one room.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit import rtc

from flows.engine.keypad import DEFAULT_INTER_DIGIT_TIMEOUT, KeypadCollector


def attach_keypad(
    room: rtc.Room,
    on_digits: Callable[[str], None],
    max_length: Callable[[], int | None],
    *,
    inter_digit_timeout: float = DEFAULT_INTER_DIGIT_TIMEOUT,
    on_key: Callable[[], None] = lambda: None,
) -> KeypadCollector:
    """Collect the caller's key presses from the room's ``sip_dtmf_received`` events.

    ``on_key`` hears every press, before the entry is complete: a caller typing slowly is
    not silent, and must not be re-prompted mid-entry."""
    keypad = KeypadCollector(
        lambda entry: on_digits(entry.digits),
        max_length=max_length,
        inter_digit_timeout=inter_digit_timeout,
    )
    listen_for_keys(room, keypad, on_key=on_key)
    return keypad


def listen_for_keys(
    room: rtc.Room, keypad: KeypadCollector, *, on_key: Callable[[], None] = lambda: None
) -> None:
    """Press into ``keypad`` every key the room's SIP participant sends."""

    def on_dtmf(event: rtc.SipDTMF) -> None:
        on_key()
        keypad.press(event.digit)

    room.on("sip_dtmf_received", on_dtmf)
