"""The two stores every benchmark runs on: a SQLite file in a temporary directory, and a
throwaway database on the PostgreSQL server of INTAKE_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), dropped at the end."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def sqlite_url() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


@contextlib.asynccontextmanager
async def postgres_url() -> AsyncIterator[str]:
    server = os.environ.get("INTAKE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    database = f"intake_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield make_url(server).set(database=database).render_as_string(hide_password=False)
    finally:
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()
