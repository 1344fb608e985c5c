"""Store failures named by their cause: real SQLite errors (locked, read-only, full,
corrupt) become one line saying which; intake deliver waits out a locked database."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from service.store import CallStore
from service.store.engine import store_failure
from service.store.errors import StoreUnavailableError, StoreUnusableError

INTAKE = str(Path(sys.executable).with_name("intake"))


def _locked(path: Path) -> sqlite3.Error:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("SELECT * FROM t")
    except sqlite3.Error as exc:
        return exc
    finally:
        holder.close()
        other.close()
    raise AssertionError("not locked")


def _read_only(path: Path) -> sqlite3.Error:
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as caught:
        connection.execute("INSERT INTO t VALUES (1)")
    return caught.value


def _full(path: Path) -> sqlite3.Error:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.execute("PRAGMA max_page_count = 3")  # what SQLite says on a full disk
    with pytest.raises(sqlite3.Error) as caught:
        connection.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    return caught.value


def _corrupt(path: Path) -> sqlite3.Error:
    path.write_bytes(os.urandom(8192))
    with pytest.raises(sqlite3.Error) as caught:
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master")
    return caught.value


@pytest.mark.parametrize(
    ("make", "cause", "kind"),
    [
        (_locked, "locked by another process", StoreUnavailableError),
        (_read_only, "read-only", StoreUnusableError),
        (_full, "the disk is full", StoreUnusableError),
        (_corrupt, "not a SQLite database", StoreUnusableError),
    ],
)
def test_each_sqlite_failure_is_named(
    tmp_path: Path, make: object, cause: str, kind: type[Exception]
) -> None:
    driver_error = make(tmp_path / "x.db")  # type: ignore[operator]
    wrapped = OperationalError("SELECT 1", {}, driver_error)  # as SQLAlchemy raises it
    error = store_failure("the database failed", wrapped)
    assert type(error) is kind and str(error).startswith("the database failed: ")
    assert cause in str(error) and "\n" not in str(error)
    assert error.retryable is (kind is StoreUnavailableError)


def test_a_full_disk_as_the_file_system_says_it(tmp_path: Path) -> None:
    error = store_failure("cannot open the database", OSError(28, "No space left on device"))
    assert isinstance(error, StoreUnusableError) and str(error).endswith("the disk is full")


def test_deliver_started_on_a_locked_database_waits_for_it(tmp_path: Path) -> None:
    path = tmp_path / "intake.db"

    async def create() -> None:
        await (await CallStore.open(f"sqlite:///{path}")).close()

    asyncio.run(create())
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path), "INTAKE_LOG_FORMAT": "json"}
    deliver = subprocess.Popen(
        [INTAKE, "deliver"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(3)
        assert deliver.poll() is None  # still there, waiting: not an exit
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    time.sleep(3)  # the lock is gone: it opens the store and starts
    assert deliver.poll() is None
    deliver.terminate()
    _, err = deliver.communicate(timeout=30)
    assert deliver.returncode == 0 and "deliverer.started" in err, err[-1000:]
