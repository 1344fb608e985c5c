"""Keypad entries, prompts and menus."""

from __future__ import annotations

import asyncio

import pytest

from flows.engine.keypad import (
    KeypadCollector,
    KeypadEntry,
    entry_length,
    keypad_prompt,
    keypad_text,
)
from flows.spec.flow import FlowSpec


def collect(
    max_length: int | None = None, timeout: float = 4.0
) -> tuple[KeypadCollector, list[KeypadEntry]]:
    entries: list[KeypadEntry] = []
    return KeypadCollector(
        entries.append, max_length=lambda: max_length, inter_digit_timeout=timeout
    ), entries


async def test_pound_ends_an_entry_and_star_clears() -> None:
    keypad, entries = collect()
    for key in "12*4155550199#":
        keypad.press(key)
    assert entries == [KeypadEntry("4155550199", terminated=True)]
    keypad.close()


async def test_an_entry_ends_at_its_longest_answer() -> None:
    keypad, entries = collect(max_length=1)
    keypad.press("3")
    assert entries == [KeypadEntry("3", terminated=False)]


async def test_inter_digit_timeout_ends_an_entry() -> None:
    keypad, entries = collect(timeout=0.01)
    keypad.press("7")
    keypad.press("7")
    await asyncio.sleep(0.05)
    assert entries == [KeypadEntry("77", terminated=False)]


async def test_flush_and_empty_entries() -> None:
    keypad, entries = collect()
    keypad.press("#")
    keypad.flush()
    assert entries == []
    keypad.press("9")
    keypad.flush()
    assert entries == [KeypadEntry("9", terminated=False)]


def test_prompts_and_menus(feedback: FlowSpec, intake: FlowSpec) -> None:
    service = feedback.field("service_type.service_type")
    assert keypad_prompt(service).startswith("Press 1 for plumbing, press 2 for electrical")
    assert keypad_text(service, "3") == "hvac"
    assert keypad_text(service, "9") is None
    resolved = feedback.field("resolution.issue_resolved")
    assert keypad_prompt(resolved) == "Press 1 for yes or 2 for no."
    assert (keypad_text(resolved, "1"), keypad_text(resolved, "2")) == ("yes", "no")
    birth = intake.field("patient.date_of_birth")
    assert "two-digit month" in keypad_prompt(birth)
    assert keypad_text(intake.field("patient.full_name"), "123") is None


@pytest.mark.parametrize(
    ("path", "length"),
    [
        ("service_type.service_type", 1),
        ("satisfaction.rating", 1),
        ("recommendation.nps", 2),
        ("customer_identification.service_order_number", None),
    ],
)
def test_entry_lengths(feedback: FlowSpec, path: str, length: int | None) -> None:
    assert entry_length(feedback.field(path)) == length
