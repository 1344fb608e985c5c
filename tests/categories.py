"""Test categories: every test is exactly one of ``unit``, ``integration`` or ``postgres``.

- ``postgres``: needs the PostgreSQL server named by INTAKE_TEST_POSTGRES_URL (it skips
  without it): a test marked so, or one using a fixture that reaches that server;
- ``integration``: its module crosses a boundary: a livekit-agents session or agent server,
  a local server (the fake LiveKit or OpenAI, a webhook receiver, the HTTP API), a
  database, a subprocess or the command line;
- ``unit``: this project's code alone, in process.

The category is derived from what a module imports and which fixtures its tests use, so a
file can move or be renamed without a marker to edit: ``pytest -m unit`` runs the fast
ones, ``pytest -m "not postgres"`` everything that needs no PostgreSQL.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

CATEGORIES = ("unit", "integration", "postgres")

# A dotted import with one of these parts reaches past this process or runs a real session.
_BOUNDARY_MODULES = frozenset(
    {
        # processes, databases
        "subprocess",
        "socket",
        "sqlite3",
        "asyncpg",
        "sqlalchemy",
        "alembic",
        "schemathesis",
        # local servers standing in for LiveKit and OpenAI
        "livekit_server",
        "openai_server",
        # the project's own entry points to calls, stores and servers
        "calls",  # the live-call driver
        "harness",  # the text-session / fake-job harness
        "simulator",
        "runner",
        "job",
        "worker",
        "store",
        "cli",
        "app",
        "test_job",
    }
)
_BOUNDARY_NAMES = frozenset({"AgentSession", "AgentServer", "fake_job_context", "CallStore"})
_BOUNDARY_FIXTURES = frozenset(
    {"livekit", "lkapi", "receiver", "store_url", "api", "api_factory", "served", "serve_fast"}
)


def category_of(item: pytest.Item, module_crosses: bool) -> str:
    if item.get_closest_marker("postgres") or any("postgres" in f for f in _fixtures(item)):
        return "postgres"
    return "integration" if module_crosses else "unit"


def mark_categories(items: list[pytest.Item]) -> None:
    by_module: dict[Path, list[pytest.Item]] = {}
    for item in items:
        by_module.setdefault(item.path, []).append(item)
    for path, module_items in by_module.items():
        crosses = module_crosses_a_boundary(path) or any(
            _BOUNDARY_FIXTURES.intersection(_fixtures(item)) for item in module_items
        )
        for item in module_items:
            item.add_marker(category_of(item, crosses))


def _fixtures(item: pytest.Item) -> list[str]:
    return list(getattr(item, "fixturenames", ()))


@cache
def module_crosses_a_boundary(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        elif isinstance(node, ast.ImportFrom):
            modules, names = [node.module or ""], [alias.name for alias in node.names]
        else:
            continue
        parts = {part for module in modules for part in module.split(".")}
        if parts & _BOUNDARY_MODULES or _BOUNDARY_NAMES.intersection(names):
            return True
    return False
