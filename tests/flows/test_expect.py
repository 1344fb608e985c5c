"""expect: blocks match as a subset."""

from __future__ import annotations

from datetime import date

from flows.testing.expect import mismatches

PAYLOAD = {"status": "completed", "results": {"a": {"x": 1, "y": True, "d": "1980-03-05"}}}


def test_subset_matches() -> None:
    assert mismatches({"status": "completed", "results": {"a": {"x": 1}}}, PAYLOAD) == []
    assert mismatches({"results": {"a": {"d": date(1980, 3, 5)}}}, PAYLOAD) == []


def test_differences_are_named_by_path() -> None:
    assert mismatches({"results": {"a": {"x": 2, "z": 0}}}, PAYLOAD) == [
        "results.a.x: expected 2, got 1",
        "results.a.z: missing",
    ]
    assert mismatches({"results": {"a": {"y": 1}}}, PAYLOAD) == [
        "results.a.y: expected 1, got True"
    ]
    assert mismatches({"status": ["x"]}, PAYLOAD) == ["status: expected ['x'], got 'completed'"]
