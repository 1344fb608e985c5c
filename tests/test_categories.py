"""Every test is exactly one of unit, integration, postgres, and the rule that says which
reads a module's imports and fixtures (tests/categories.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from categories import CATEGORIES, module_crosses_a_boundary


def test_every_collected_test_has_exactly_one_category(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    assert items
    for item in items:
        found = [name for name in CATEGORIES if item.get_closest_marker(name)]
        assert len(found) == 1, (item.nodeid, found)


@pytest.mark.parametrize(
    ("source", "crosses"),
    [
        ("from flows.parsers import parse_name\n", False),
        ("import aiohttp  # only its exception types\n", False),
        ("from livekit.agents import AgentSession\n", True),
        ("def test():\n    import subprocess\n", True),
        ("from fakes.livekit_server import FakeLiveKitServer\n", True),
        ("from service.store import CallStore\n", True),
        ("from calls import LiveCall\n", True),
    ],
)
def test_a_module_crosses_a_boundary_by_what_it_imports(
    tmp_path: Path, source: str, crosses: bool
) -> None:
    module = tmp_path / "test_example.py"
    module.write_text(source)
    assert module_crosses_a_boundary(module) is crosses
