"""``GET /metrics``: Prometheus text. Request latency is measured in-process; the store's
numbers (calls by status, dial outcomes, the due queue, deliveries) are read with async
queries when scraped and handed to a collector that only formats them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Column, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flows.engine.clock import Clock
from flows.engine.outcomes import CALL_STATUSES as DIAL_OUTCOMES
from service.store.engine import unavailable_as_store_error
from service.store.schema import (
    DELIVERY_STATUSES,
    QUEUED,
    REQUEST_STATUSES,
    call_attempts,
    call_requests,
    deliveries,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StoreNumbers(Collector):
    """The figures of the last scrape's queries; collecting does no I/O."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.outcomes: dict[str, int] = {}
        self.deliveries: dict[str, int] = {}
        self.queue_depth = 0

    def collect(self) -> Iterator[Metric]:
        calls = GaugeMetricFamily("intake_calls", "Requested calls by status", labels=["status"])
        for status in REQUEST_STATUSES:
            calls.add_metric([status], self.calls.get(status, 0))
        outcomes = CounterMetricFamily(
            "intake_dial_outcomes", "Dials of requested calls by outcome", labels=["outcome"]
        )
        for outcome in sorted(set(DIAL_OUTCOMES) | set(self.outcomes)):
            outcomes.add_metric([outcome], self.outcomes.get(outcome, 0))
        sent = GaugeMetricFamily(
            "intake_deliveries", "Webhook deliveries by status", labels=["status"]
        )
        for delivery_status in DELIVERY_STATUSES:
            sent.add_metric([delivery_status], self.deliveries.get(delivery_status, 0))
        yield calls
        yield outcomes
        yield sent
        yield GaugeMetricFamily(
            "intake_queue_depth", "Queued calls due now", value=self.queue_depth
        )


class ApiMetrics:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine, self._clock = engine, clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "intake_api_request_duration_seconds",
            "API request latency by route template",
            ["route", "method"],
            registry=self.registry,
        )
        self.requests = Counter(
            "intake_api_requests",
            "API requests by route template and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._numbers = _StoreNumbers()
        self.registry.register(self._numbers)
        self._lock = asyncio.Lock()

    async def render(self) -> bytes:
        async with self._lock:  # one scrape's figures are formatted together
            await self._read_store()
            return generate_latest(self.registry)

    @unavailable_as_store_error
    async def _read_store(self) -> None:
        numbers, now = self._numbers, self._clock()
        async with self._engine.connect() as conn:
            numbers.calls = await _grouped(conn, call_requests.c.status)
            numbers.outcomes = await _grouped(conn, call_attempts.c.outcome)
            numbers.deliveries = await _grouped(conn, deliveries.c.status)
            numbers.queue_depth = int(
                await conn.scalar(
                    select(func.count()).where(
                        call_requests.c.status == QUEUED, call_requests.c.next_attempt_at <= now
                    )
                )
                or 0
            )


async def _grouped(conn: AsyncConnection, column: Column[Any]) -> dict[str, int]:
    rows = await conn.execute(select(column, func.count()).group_by(column))
    return {str(value): int(number) for value, number in rows}


class TimedRequests:
    """Middleware: each request's latency and status, by route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            self.metrics.requests.labels(route, method, str(status)).inc()
