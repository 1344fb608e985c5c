"""The API on a real store (SQLite and PostgreSQL), driven through httpx's ASGI transport
with its lifespan running, as ``intake serve`` runs it; a key made as `intake keys create`
makes it; time from the test's clock."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, update

from service.api.app import create_app
from service.api.simulation import SimulateOptions
from service.settings import Settings
from service.store import CallStore
from service.store.api_keys import ApiKeys
from service.store.schema import ENDED, call_attempts, call_requests, calls

if TYPE_CHECKING:
    from conftest import FakeClock


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    store: CallStore
    clock: FakeClock
    key: str
    settings: Settings

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.auth | kwargs.pop("headers", {}), **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth | kwargs.pop("headers", {}), **kwargs)

    async def new_key(self, name: str, quota: int | None = None) -> str:
        keys = ApiKeys(self.store.engine, self.clock)
        return (await keys.create(name, calls_per_minute=quota)).secret

    async def call(self, to: str = "+14155550123", **fields: Any) -> dict[str, Any]:
        """A queued call, created through the API."""
        body = {"to": to, "flow": "customer_feedback"} | fields
        response = await self.post("/v1/calls", json=body)
        assert response.status_code == 202, response.text
        created: dict[str, Any] = response.json()
        return created

    async def end_call(
        self, call_id: str, payload: dict[str, Any], attempts: Sequence[dict[str, Any]] = ()
    ) -> None:
        """What the scheduler does when a call's last dial ends: its attempts, its
        payload in ``calls``, the request ``ended`` with the payload's status."""
        now = self.clock()
        async with self.store.engine.begin() as conn:
            for number, attempt in enumerate(attempts, start=1):
                await conn.execute(
                    insert(call_attempts).values(call_id=call_id, attempt=number, **attempt)
                )
            text = json.dumps(payload | {"call_id": call_id}, separators=(",", ":"))
            await conn.execute(
                insert(calls).values(
                    call_id=call_id,
                    flow=payload["flow"],
                    state="finished",
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=now,
                    snapshot=text,
                    payload=text,
                )
            )
            await conn.execute(
                update(call_requests)
                .where(call_requests.c.id == call_id)
                .values(
                    status=ENDED,
                    outcome=payload["status"],
                    next_attempt_at=None,
                    attempts=len(attempts),
                    updated_at=now,
                )
            )

    async def set_status(self, call_id: str, status: str) -> None:
        async with self.store.engine.begin() as conn:
            await conn.execute(
                update(call_requests).where(call_requests.c.id == call_id).values(status=status)
            )


ApiFactory = Callable[..., contextlib.AbstractAsyncContextManager[Api]]


@pytest.fixture
def api_factory(store_url: str, tmp_path: Path, clock: FakeClock) -> ApiFactory:
    @contextlib.asynccontextmanager
    async def open_api(
        *, simulate: SimulateOptions | bool = False, quota: int | None = None, **api: Any
    ) -> AsyncIterator[Api]:
        settings = Settings(
            data_dir=tmp_path / "data",
            database={"url": store_url},
            api=api,
        )
        async with await CallStore.open(store_url, clock=clock) as store:
            app = create_app(settings, store, clock=clock, simulate=simulate)
            keys = ApiKeys(store.engine, clock)
            key = (await keys.create("test", calls_per_minute=quota)).secret
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(transport=transport, base_url="http://intake") as client,
            ):
                yield Api(app, client, store, clock, key, settings)

    return open_api


@pytest.fixture
async def api(api_factory: ApiFactory) -> AsyncIterator[Api]:
    async with api_factory() as opened:
        yield opened


def payload_for(flow: str, status: str = "completed", **changes: Any) -> dict[str, Any]:
    """A payload as a finished call stores it, for ``Api.end_call``."""
    from conftest import sample_payload

    payload: dict[str, Any] = sample_payload(flow=flow, status=status).to_json_dict()
    return payload | changes


@pytest.fixture
def payload() -> Callable[..., dict[str, Any]]:
    return payload_for
