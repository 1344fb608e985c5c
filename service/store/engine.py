"""Engines for the embedded SQLite file and for PostgreSQL, and migrating them at start.

SQLite: WAL (readers never block the one writer, and several processes of one machine
share the file), ``synchronous=FULL`` (a committed payload survives a power cut),
``BEGIN IMMEDIATE`` (a transaction takes the write lock up front, so it waits in
busy_timeout instead of failing when it later upgrades), and one connection per process
(writers of one process queue in the pool rather than spin in SQLite's busy handler).
``intake serve`` has one more, synchronous, for the batched creation of calls
(``call_writer``): a whole transaction in one thread hop instead of one per statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import sqlite3
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import sqlalchemy
from sqlalchemy import Connection, Engine, Table, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.libpq import libpq_options
from service.store.errors import StoreUnavailableError, StoreUnusableError

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

# The newest migration (tests check it against the scripts): a store already there opens
# without importing alembic, a fifth of a second of every start of `intake serve`.
HEAD_REVISION = "0004"
BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10  # PostgreSQL: seconds to establish a connection
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
# pg_advisory_xact_lock key: one migrating process at a time across machines ("intake" in hex)
MIGRATION_LOCK = 0x696E74616B65
WAL_TRIES = 150  # 20 ms apart: three seconds of other processes opening the same new file
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeoutError, OSError)
# SQLSTATE classes: connection exception, no such database, insufficient resources,
# operator intervention (shutdown, database dropped, cannot connect now)
UNAVAILABLE_SQLSTATES = ("08", "3D", "53", "57P")

P = ParamSpec("P")
R = TypeVar("R")


def unavailable_as_store_error(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """A database that is down, locked too long or unreachable becomes a retryable
    StoreUnavailableError, so callers handle one error type and no driver's."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except (*UNAVAILABLE, DBAPIError) as exc:
            known = isinstance(exc, UNAVAILABLE) or failure_cause(exc) is not None
            if isinstance(exc, DBAPIError) and not (known or _unavailable(exc)):
                raise  # an integrity error and the like: the caller's to handle
            raise store_failure("the database failed", exc) from exc

    return guarded


# What the drivers' errors mean, said so an operator knows what to fix. SQLite's by the
# error name the sqlite3 module gives (extended names start with these), PostgreSQL's by
# SQLSTATE, the file system's by errno. ``True``: waiting will not help.
SQLITE_CAUSES = (
    ("SQLITE_BUSY", "the database is locked by another process", False),
    ("SQLITE_LOCKED", "the database is locked by another process", False),
    ("SQLITE_READONLY", "the database is read-only", True),
    ("SQLITE_FULL", "the disk is full", True),
    ("SQLITE_CORRUPT", "the database file is corrupt", True),
    ("SQLITE_NOTADB", "the file is not a SQLite database (corrupt?)", True),
    ("SQLITE_CANTOPEN", "the database file cannot be opened", False),
    ("SQLITE_IOERR", "the disk failed (an I/O error)", False),
)
POSTGRES_CAUSES = {
    "53100": ("the database server's disk is full", True),
    "25006": ("the database is read-only", True),
    "55P03": ("the database is locked", False),
    "XX001": ("the database is corrupt", True),
    "XX002": ("the database is corrupt (an index)", True),
}
ERRNO_CAUSES = {
    errno.ENOSPC: ("the disk is full", True),
    errno.EROFS: ("the file system is read-only", True),
    errno.EACCES: ("permission denied", True),
    errno.EDQUOT: ("the disk quota is used up", True),
}


def failure_cause(exc: BaseException) -> tuple[str, bool] | None:
    """(what happened, whether waiting cannot help), if a cause in the tables above is
    found in ``exc``, the driver's error under it, or what caused those."""
    seen: BaseException | None = exc
    while seen is not None:
        name = getattr(seen, "sqlite_errorname", None)
        if isinstance(name, str):
            for prefix, what, unusable in SQLITE_CAUSES:
                if name.startswith(prefix):
                    return what, unusable
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and state in POSTGRES_CAUSES:
            return POSTGRES_CAUSES[state]
        if isinstance(seen, OSError) and seen.errno in ERRNO_CAUSES:
            return ERRNO_CAUSES[seen.errno]
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def store_failure(doing: str, exc: BaseException) -> StoreUnavailableError:
    """One error saying what failed and why: StoreUnusableError when waiting cannot help."""
    cause = failure_cause(exc)
    if cause is None:
        return StoreUnavailableError(f"{doing}: {exc.__class__.__name__}")
    what, unusable = cause
    return (StoreUnusableError if unusable else StoreUnavailableError)(f"{doing}: {what}")


def _unavailable(exc: DBAPIError) -> bool:
    """PostgreSQL's errors that say the database is gone or unreachable for now (asyncpg's
    come as plain DBAPIError): a dropped or not yet created database, a server shutting
    down or starting, too many connections, a lost connection."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return exc.connection_invalidated or (
        isinstance(state, str) and state.startswith(UNAVAILABLE_SQLSTATES)
    )


def async_url(url: str) -> URL:
    """The URL with the async driver: ``sqlite:///x.db`` and ``postgresql://...`` work too."""
    parsed = make_url(url)
    return parsed.set(drivername=DRIVERS[parsed.get_backend_name()])


def create_engine(url: str) -> AsyncEngine:
    target = async_url(url)
    if target.get_backend_name() != "sqlite":
        # asyncpg waits 60 s for a connection by default; a call ending while the
        # database is unreachable should not wait that long to reach the spool.
        # libpq's options (sslmode=require, ...) become asyncpg's arguments.
        options = libpq_options(target.query).connect_args()
        return create_async_engine(
            target.set(query={}),
            pool_pre_ping=True,
            connect_args={"timeout": CONNECT_TIMEOUT_S, **options},
        )
    engine = create_async_engine(
        target, pool_size=1, max_overflow=0, connect_args={"timeout": BUSY_TIMEOUT_S}
    )
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def sqlite_sync_engine(url: URL) -> Engine:
    """A synchronous engine (pysqlite) on the SQLite file of ``url``, set up as the async
    one is; its one connection may be used from any one thread at a time."""
    engine = sqlalchemy.create_engine(
        url.set(drivername="sqlite"),
        pool_size=1,
        max_overflow=0,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver's own BEGIN off; ours below
    cursor = dbapi_connection.cursor()
    for pragma in (
        "synchronous=FULL",
        "foreign_keys=ON",
        f"busy_timeout={BUSY_TIMEOUT_S * 1000}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(conn: AsyncConnection | Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, which both databases spell the same way. Each
    dialect is imported when used: PostgreSQL's costs a SQLite process 70 ms at start."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; concurrent starts take turns."""
    if engine.dialect.name == "sqlite":
        await _use_wal(engine)
    async with engine.begin() as conn:  # on SQLite, BEGIN IMMEDIATE is the lock
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade)


async def _use_wal(engine: AsyncEngine) -> None:
    """WAL belongs to the file, so only a new file switches. Switching needs the file to
    itself: while another process opens the same new file, SQLite refuses at once (no busy
    wait) or quietly keeps the old mode. So: try until the file reports WAL."""
    async with engine.connect() as conn:
        for _ in range(WAL_TRIES):
            with contextlib.suppress(sqlite3.OperationalError):
                if await conn.run_sync(_switch_to_wal) == "wal":
                    return
            await asyncio.sleep(0.02)
    raise StoreUnavailableError("the SQLite file stayed busy and could not be switched to WAL")


def _switch_to_wal(connection: Connection) -> str:
    # On the driver's connection: through SQLAlchemy, the statement would start a
    # transaction (our BEGIN IMMEDIATE), inside which the journal mode cannot change.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        (mode,) = cursor.fetchone() or ("",)
        return str(mode)
    finally:
        cursor.close()


def _upgrade(connection: Connection) -> None:
    # Alembic's own table, read directly: MigrationContext would log at every start.
    current = None
    if inspect(connection).has_table("alembic_version"):
        current = connection.scalar(text("SELECT version_num FROM alembic_version"))
        if current == HEAD_REVISION:
            return
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "service.store:migrations")
    if current == ScriptDirectory.from_config(config).get_current_head():
        return
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
