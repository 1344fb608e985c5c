"""The time zones a callee may be in: the request's own, else those of the number's region."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones

UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers answers for a number it cannot place


def valid_zone(name: str) -> bool:
    """An IANA time zone name this machine knows, such as Europe/Berlin."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def callee_zones(number: str, timezone: str | None = None) -> tuple[str, ...]:
    """Every zone the callee of ``number`` (E.164) may be in; empty when none is known.
    A region spanning several zones (the US, Russia) gives them all: a window must hold in
    each of them. ``timezone``, when given, is the caller-supplied override."""
    if timezone:
        return (timezone,) if valid_zone(timezone) else ()
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_timezones.time_zones_for_number(parsed)
    return tuple(zone for zone in zones if zone != UNKNOWN_ZONE and valid_zone(zone))
