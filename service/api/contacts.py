"""A campaign's contacts: from its JSON, or from an uploaded CSV file, checked one by one.

A contact that cannot be called does not fail the campaign: it becomes a blocked call with
its reason. Only a file that is not a CSV of contacts at all (not UTF-8, no ``to`` column,
broken quoting) is refused, with 422.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flows.engine.json_types import JsonObject
from service.api.errors import ApiError, invalid, too_large
from service.api.numbers import e164
from service.api.simulation import ScriptCheck
from service.scheduler.zones import valid_zone
from service.store.campaigns import Contact

INVALID_NUMBER = "not a valid phone number"
UNKNOWN_ZONE = "not a known IANA time zone"
TOO_MANY_CELLS = "the row has more cells than the header has columns"
TO, TIMEZONE, SIMULATE = "to", "timezone", "simulate"


def too_many_contacts(limit: int) -> ApiError:
    return too_large(f"more than {limit} contacts")


def check(
    to: str,
    timezone: str | None,
    metadata: JsonObject,
    region: str,
    *,
    simulate: Any = None,
    scripts: ScriptCheck | None = None,
) -> Contact:
    """A contact to call, or one blocked with the reason (an invalid number or time zone,
    or under ``--simulate`` an invalid scripted callee, checked by ``scripts``)."""
    number, zone = e164(to, region), timezone or None
    if number is None:  # kept as given, but printable: it is shown back, and stored
        shown = "".join(character if character.isprintable() else "?" for character in to)
        return Contact(shown[:64], None, metadata, INVALID_NUMBER)
    if zone is not None and not valid_zone(zone):
        return Contact(number, None, metadata, UNKNOWN_ZONE)
    if simulate is not None and scripts is not None:
        problem = scripts(simulate)
        if problem is not None:
            return Contact(number, None, metadata, problem)
        return Contact(number, zone, metadata, simulate=simulate)
    return Contact(number, zone, metadata)


def read_csv(data: bytes, *, max_contacts: int, scripted: bool = False) -> list[dict[str, Any]]:
    """The rows of an uploaded contacts file: ``to``, ``timezone`` (None when empty), the
    other columns as ``metadata``, and whether the row had more cells than the header.
    ``scripted`` (``--simulate``): a ``simulate`` column holds each callee's script as JSON."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Excel's) is dropped
    except UnicodeDecodeError:
        raise invalid("contacts: the file is not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # broken quoting: 422
    try:
        header = [name.strip() for name in next(reader, [])]
        lowered = [name.lower() for name in header]
        if TO not in lowered:
            raise invalid("contacts: the CSV header has no `to` column")
        if len(set(lowered)) != len(lowered):
            raise invalid("contacts: a column name appears twice in the CSV header")
        to_at, zone_at = lowered.index(TO), lowered.index(TIMEZONE) if TIMEZONE in lowered else -1
        script_at = lowered.index(SIMULATE) if scripted and SIMULATE in lowered else -1
        others = [
            (i, name) for i, name in enumerate(header) if i not in (to_at, zone_at, script_at)
        ]
        rows: list[dict[str, Any]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, at the end of a file most of all
            if len(rows) == max_contacts:
                raise too_many_contacts(max_contacts)
            cells += [""] * (len(header) - len(cells))
            rows.append(
                {
                    "to": cells[to_at].strip(),
                    "timezone": cells[zone_at].strip() or None if zone_at >= 0 else None,
                    "metadata": {name: cells[i] for i, name in others},
                    "simulate": cells[script_at].strip() or None if script_at >= 0 else None,
                    "too_many_cells": len(cells) > len(header),
                }
            )
    except csv.Error:
        raise invalid(f"contacts: not a valid CSV file (line {reader.line_num})") from None
    if not rows:
        raise invalid("contacts: the CSV file has no rows")
    return rows


def from_csv_rows(
    rows: list[dict[str, Any]], region: str, scripts: ScriptCheck | None = None
) -> list[Contact]:
    contacts = []
    for row in rows:
        script: Any = row["simulate"]
        if script is not None:
            try:
                script = json.loads(script)
            except json.JSONDecodeError:
                script = "not valid JSON"  # the checker names it as not an object
        contact = check(
            row["to"], row["timezone"], row["metadata"], region, simulate=script, scripts=scripts
        )
        if row["too_many_cells"] and contact.problem is None:
            contact = Contact(contact.to, None, contact.metadata, TOO_MANY_CELLS)
        contacts.append(contact)
    return contacts
