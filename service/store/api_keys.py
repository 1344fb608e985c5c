"""API keys of ``intake serve`` and their quota of call creations per minute.

A key is shown once, when created; the store keeps its SHA-256 (to find it) and its first
characters (to recognise it in ``intake keys list``). Checking a key is on every request's
path, so verified keys are kept in memory for a few seconds: a revocation takes effect
within ``cache_seconds``, and a request costs no database round trip for its key.

The quota counts call creations per key and calendar minute (``api_key_usage``), in the
same transaction as the creation, so concurrent requests can never exceed it together.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Delete, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from flows.engine.clock import Clock
from flows.engine.ids import ulid
from service.store.engine import unavailable_as_store_error, upsert
from service.store.errors import ConflictError, NotFoundError, QuotaExceededError
from service.store.schema import api_key_usage, api_keys

KEY_PREFIX = "ik_"
SHOWN_CHARACTERS = 10  # of the key, kept in clear to recognise it: "ik_" and 7 more
CACHE_SECONDS = 2.0
CACHE_ENTRIES = 10_000  # then the cache starts over: unknown keys must not grow it forever


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    calls_per_minute: int | None  # None: the setting's default
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    secret: str  # the key itself: shown once, never stored


@dataclass(frozen=True)
class Caller:
    """A verified key, as a request needs it."""

    key_id: str
    calls_per_minute: int


class ApiKeys:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        default_quota: int = 600,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine, self._clock = engine, clock
        self._default_quota, self._cache_seconds, self._monotonic = (
            default_quota,
            cache_seconds,
            monotonic,
        )
        self._cache: dict[str, tuple[Caller | None, float]] = {}
        # one lookup per key at a time: when an entry expires under load, the requests
        # that find it expired wait for the same query instead of each making their own
        self._looking_up: dict[str, asyncio.Future[Caller | None]] = {}

    @unavailable_as_store_error
    async def create(self, name: str, *, calls_per_minute: int | None = None) -> IssuedKey:
        """A new key named ``name``; ConflictError if a key has that name already."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKey(
            id=f"key_{ulid()}",
            name=name,
            prefix=secret[:SHOWN_CHARACTERS],
            calls_per_minute=calls_per_minute,
            created_at=self._clock(),
            revoked_at=None,
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    insert(api_keys).values(
                        id=record.id,
                        name=name,
                        key_hash=key_hash(secret),
                        prefix=record.prefix,
                        calls_per_minute=calls_per_minute,
                        created_at=record.created_at,
                    )
                )
        except IntegrityError:
            raise ConflictError("an API key with that name exists already") from None
        return IssuedKey(record, secret)

    @unavailable_as_store_error
    async def list_keys(self) -> list[ApiKey]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(api_keys).order_by(api_keys.c.created_at))
            return [_record(row) for row in rows]

    @unavailable_as_store_error
    async def revoke(self, name: str) -> ApiKey:
        """Revoke the key named ``name`` (again: no change); NotFoundError if none is."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            row = (await conn.execute(select(api_keys).where(api_keys.c.name == name))).first()
        if row is None:
            raise NotFoundError("no API key has that name")
        return _record(row)

    async def verify(self, secret: str) -> Caller | None:
        """The caller holding ``secret``, or None for an unknown or revoked key."""
        digest = key_hash(secret)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        pending = self._looking_up.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        pending = asyncio.get_running_loop().create_future()
        self._looking_up[digest] = pending
        try:
            caller = await self._lookup(digest)
        except asyncio.CancelledError:
            pending.cancel()
            raise
        except Exception as exc:
            pending.set_exception(exc)
            pending.exception()  # retrieved: the waiters (if any) raise it themselves
            raise
        finally:
            del self._looking_up[digest]
        pending.set_result(caller)
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[digest] = (caller, self._monotonic() + self._cache_seconds)
        return caller

    @unavailable_as_store_error
    async def _lookup(self, digest: str) -> Caller | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(api_keys.c.id, api_keys.c.calls_per_minute).where(
                        api_keys.c.key_hash == digest, api_keys.c.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            return None
        return Caller(row.id, row.calls_per_minute or self._default_quota)


def _record(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        calls_per_minute=row.calls_per_minute,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _minute(now: datetime) -> tuple[datetime, int]:
    """The quota's minute, and the seconds until the next one begins."""
    minute = now.replace(second=0, microsecond=0)
    return minute, max(1, math.ceil((minute + timedelta(minutes=1) - now).total_seconds()))


def used_up(caller: Caller, now: datetime) -> QuotaExceededError:
    return QuotaExceededError(
        f"this API key's quota of {caller.calls_per_minute} calls per minute is used up",
        retry_after=_minute(now)[1],
    )


def room_left(conn: Connection, caller: Caller, now: datetime) -> int:
    """How many calls the caller may still create this minute. The usage row stays locked
    until the transaction ends (SQLite locks the whole file), so writers take turns; count
    what is created with ``count_calls`` in the same transaction. Synchronous: the batched
    writer runs its whole transaction in one go (``call_writer``)."""
    minute, _ = _minute(now)
    used: int = conn.execute(
        upsert(conn, api_key_usage)
        .values(key_id=caller.key_id, minute=minute, calls=0)
        .on_conflict_do_update(
            index_elements=[api_key_usage.c.key_id, api_key_usage.c.minute],
            set_={"calls": api_key_usage.c.calls},  # no change, but the row is locked
        )
        .returning(api_key_usage.c.calls)
    ).scalar_one()
    if used == 0:
        conn.execute(_earlier_minutes(caller.key_id, minute))
    return max(0, caller.calls_per_minute - used)


def count_calls(conn: Connection, key_id: str, calls: int, now: datetime) -> None:
    conn.execute(
        update(api_key_usage)
        .where(api_key_usage.c.key_id == key_id, api_key_usage.c.minute == _minute(now)[0])
        .values(calls=api_key_usage.c.calls + calls)
    )


def _earlier_minutes(key_id: str, minute: datetime) -> Delete:
    """Usage before ``minute``: no longer needed once a new minute has begun."""
    return delete(api_key_usage).where(
        api_key_usage.c.key_id == key_id, api_key_usage.c.minute < minute
    )


# One statement, all or nothing; call_writer shares a key's room out (room_left, count_calls)
async def charge_quota(conn: AsyncConnection, caller: Caller, calls: int, now: datetime) -> None:
    """Count ``calls`` creations against the caller's quota for this minute, inside the
    creating transaction; QuotaExceededError (and nothing counted) when they do not fit."""
    limit = caller.calls_per_minute
    minute, retry_after = _minute(now)
    if calls > limit:
        raise QuotaExceededError(
            f"{calls} calls at once are more than this API key's whole quota of {limit} calls"
            " per minute; send fewer contacts per campaign or raise the key's quota",
            retry_after=retry_after,
        )
    counted = await conn.execute(
        upsert(conn, api_key_usage)
        .values(key_id=caller.key_id, minute=minute, calls=calls)
        .on_conflict_do_update(
            index_elements=[api_key_usage.c.key_id, api_key_usage.c.minute],
            set_={"calls": api_key_usage.c.calls + calls},
            where=api_key_usage.c.calls + calls <= limit,
        )
        .returning(api_key_usage.c.calls)
    )
    total = counted.scalar()
    if total is None:
        raise used_up(caller, now)
    if total == calls:  # the minute's first creation: earlier minutes are no longer needed
        await conn.execute(_earlier_minutes(caller.key_id, minute))
