"""schemathesis over the whole OpenAPI schema, with a valid key, on both databases: whatever
the schema allows (and much it does not), the API never answers 5xx, and every answer
(status, content type, headers, body) is one the schema describes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python.asgi import shutdown_lifespans

from flows.engine.clock import utc_now
from service.api.app import create_app
from service.settings import Settings
from service.store import CallStore
from service.store.api_keys import ApiKeys

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


async def _prepare(store_url: str) -> str:
    """Migrate the store and make a key, on a loop of their own; the app's connections
    are made later on schemathesis' loop."""
    async with await CallStore.open(store_url) as store:
        await store.dnc.add("+14155550199", source="api")
        return (await ApiKeys(store.engine, utc_now).create("schemathesis")).secret


def _schema() -> schemathesis.BaseSchema:
    """The schema, from an app on a store never opened: it does not depend on the store."""
    unopened = CallStore.create("sqlite:///unused.db")
    app = create_app(Settings(data_dir=Path("unused")), unopened, clock=utc_now)
    return schemathesis.openapi.from_dict(app.openapi())


schema = _schema()


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[FastAPI, str]]:
    """The app on the test's store, called through schemathesis' ASGI client; its
    connections are made on that client's loop and closed there at shutdown."""
    from conftest import run_async

    key = run_async(_prepare(store_url))
    store = CallStore.create(store_url)

    async def close_store(stop: asyncio.Event) -> None:
        await stop.wait()
        await store.close()

    settings = Settings(data_dir=tmp_path, database={"url": store_url})
    yield create_app(settings, store, clock=utc_now, background=[close_store]), key
    shutdown_lifespans()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,  # the same examples on every run: CI stays stable
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms(
    case: schemathesis.Case[Any], served: tuple[FastAPI, str]
) -> None:
    app, key = served
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
