"""Webhook delivery throughput and latency, on SQLite and on PostgreSQL.

For each database: a local receiver (aiohttp on 127.0.0.1) answers 200 at once, and a real
``intake deliver`` process delivers to it. Two figures, the issue's targets beside them:

* deliveries/s: a backlog of --backlog payloads is stored first, then delivered; the rate
  between the first and the last arrival (target >= 200/s);
* call end -> first attempt: --calls calls finish at --rate per second while the deliverer
  runs; the time from just before ``call_finished`` to the request's arrival at the
  receiver, p50/p99/max (target p99 < 1 s). Default settings, poll interval included.

PostgreSQL: a throwaway database on the server of INTAKE_TEST_POSTGRES_URL (default
postgresql://postgres@127.0.0.1:5432/test), dropped at the end.

    .venv/bin/python bench/deliveries.py [--backlog 3000] [--calls 1000] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

from aiohttp import web
from databases import postgres_url, sqlite_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.engine.ids import new_call_id  # noqa: E402
from flows.engine.payload import Payload  # noqa: E402
from service.settings import EndpointSettings  # noqa: E402
from service.store import CallStore  # noqa: E402

SECRET = "whsec_" + "YmVuY2htYXJrLXNlY3JldC1rZXktMzJieXRlcyE="
EXAMPLE = {
    "job_id": "AJ_qsV4cAeZCDPF",
    "room_id": "RM_hNJarY6HwLaY",
    "room": "call-7f3a",
    "started_at": "2026-03-24T00:19:44.514403Z",
    "ended_at": "2026-03-24T00:21:02.729760Z",
    "summary": "Inbound patient intake call ended with status completed; 12 of 12 fields.",
    "results": {"patient": {"full_name": "Jane Doe", "date_of_birth": "1980-03-05"}},
    "flow": "patient_intake",
    "flow_version": "9c1e4b2a",
    "direction": "inbound",
    "from": "+14155550123",
    "to": "+18005550100",
    "status": "completed",
    "ended_reason": "completed",
    "fields": {},
    "transfer": None,
    "metadata": {"ticket": "T-1"},
}


class Receiver:
    """Records when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.arrivals.setdefault(request.headers["webhook-id"], time.time())
        self.changed.set()
        return web.Response(status=204)

    async def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count:
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.arrivals)} of {count} arrived")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


def payload() -> Payload:
    return Payload.model_validate({**EXAMPLE, "call_id": new_call_id()})


async def start_deliverer(url: str, endpoint: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "INTAKE_DATABASE__URL": url,
        "INTAKE_WEBHOOKS__ENDPOINTS": json.dumps([{"url": endpoint, "secrets": [SECRET]}]),
        "INTAKE_LOG_LEVEL": "warning",
    }
    intake = Path(sys.executable).with_name("intake")
    return await asyncio.create_subprocess_exec(str(intake), "deliver", env=env)


async def measure(
    name: str, url: str, receiver: Receiver, endpoint: str, args: argparse.Namespace
) -> None:
    receiver.arrivals.clear()
    endpoints = [EndpointSettings.model_validate({"url": endpoint, "secrets": [SECRET]})]
    async with await CallStore.open(url, endpoints=endpoints) as store:
        started = time.perf_counter()
        for _ in range(args.backlog):
            await store.call_finished(payload())
        stored = args.backlog / (time.perf_counter() - started)
        process = await start_deliverer(url, endpoint)
        try:
            await receiver.wait_for(args.backlog, timeout=120)
            times = sorted(receiver.arrivals.values())
            rate = (len(times) - 1) / (times[-1] - times[0])

            receiver.arrivals.clear()
            ends: dict[str, float] = {}
            interval = 1 / args.rate
            next_at = time.perf_counter()
            for _ in range(args.calls):
                item = payload()
                ends[item.call_id] = time.time()
                await store.call_finished(item)
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            await receiver.wait_for(args.calls, timeout=60)
        finally:
            process.terminate()
            await process.wait()
        ids = {r.webhook_id: r.call_id for r in await store.outbox.recent(limit=args.calls)}
    latencies = sorted(receiver.arrivals[w] - ends[c] for w, c in ids.items())
    p99 = statistics.quantiles(latencies, n=100)[98]
    print(
        f"{name:10} {stored:8.0f}/s {rate:10.0f}/s {statistics.median(latencies) * 1000:8.0f}ms"
        f" {p99 * 1000:8.0f}ms {latencies[-1] * 1000:8.0f}ms",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    endpoint = f"http://127.0.0.1:{port}/hook"
    print(f"{'database':10} {'stored':>10} {'delivered':>12} {'p50':>10} {'p99':>10} {'max':>10}")
    print(f"{'':10} {'':>10} {'':>12} {'(call end -> first attempt)':>32}")
    try:
        async with sqlite_url() as url:
            await measure("sqlite", url, receiver, endpoint, args)
        async with postgres_url() as url:
            await measure("postgresql", url, receiver, endpoint, args)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
