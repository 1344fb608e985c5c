"""The HTTP API under load, on SQLite and on PostgreSQL, against a real ``intake serve``.

Figures, the issue's targets beside them:

* start-up: from spawning ``intake serve`` to its first ``/healthz`` answer, against the wall
  time of ``python -c "import fastapi"``, best of --starts each; the ratio (target <= 2), and
  beside it the floor: the libraries serve cannot start without, imported alone, against
  the same baseline. The project is byte-compiled first, as an install does
  (bench/installed.py);
* ``POST /v1/calls``: --requests requests from --concurrency clients in a closed loop after a
  warm-up; requests/s and p50/p99 latency (target >= 500/s, p99 <= 50 ms);
* a --contacts-contact CSV campaign: the upload's wall time until 201 (target < 5 s), then its
  results streamed as JSON Lines and as CSV while the server's resident memory is sampled;
  the peak growth over the resident size before streaming (flat: a few MB, not per row).

The calls are not due for a day (``not_before``), so the scheduler dispatches none of them:
this measures the API, not LiveKit. PostgreSQL: a throwaway database on the server of
INTAKE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test), dropped at the end.

    .venv/bin/python bench/api.py [--requests 5000] [--concurrency 16] [--contacts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from databases import postgres_url, sqlite_url
from installed import byte_compile

BIN = Path(sys.executable).parent
WARM_UP = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(database_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "INTAKE_DATABASE__URL": database_url,
        "INTAKE_DATA_DIR": data_dir,
        "INTAKE_LOG_LEVEL": "warning",
        "INTAKE_API__MAX_CONTACTS": "1000000",
        "INTAKE_API__MAX_CSV_BYTES": "100000000",
        # Nothing is dialled (every call waits a day), but serve wants a LiveKit to dispatch to.
        "INTAKE_LIVEKIT__URL": "http://127.0.0.1:9",
        "INTAKE_LIVEKIT__API_KEY": "bench",
        "INTAKE_LIVEKIT__API_SECRET": "bench-secret-bench-secret-bench-secret",
    }


def create_key(env: dict[str, str]) -> str:
    done = subprocess.run(
        [
            str(BIN / "intake"),
            "keys",
            "create",
            f"bench-{secrets.token_hex(3)}",
            "--quota",
            "1000000",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def wait_healthy(base: str, process: asyncio.subprocess.Process, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"intake serve exited with {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.005)
    raise TimeoutError("intake serve did not answer /healthz")


@contextlib.asynccontextmanager
async def serving(env: dict[str, str]) -> AsyncIterator[tuple[str, int, float]]:
    """``intake serve`` on a free port: (base URL, pid, seconds until /healthz answered)."""
    port = free_port()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        str(BIN / "intake"), "serve", "--port", str(port), env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, process, timeout=30)
        yield base, process.pid, time.perf_counter() - started
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


# What `intake serve` cannot start without, our own code aside: the floor under its ratio,
# imported as serve imports them, with the cyclic collector paused.
LIBRARIES = "import gc; gc.disable(); import " + (
    "fastapi, uvicorn, uvloop, sqlalchemy.ext.asyncio, aiosqlite, pydantic_settings,"
    " structlog, typer, phonenumbers, prometheus_client"
)


def import_time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


async def start_up(env: dict[str, str], starts: int) -> tuple[float, float, float]:
    """Best of ``starts``: serve until /healthz, ``import fastapi``, the libraries alone.
    The three take turns, so a slower spell of a shared machine falls on all of them."""
    baseline, libraries, serve = [], [], []
    for _ in range(starts):
        baseline.append(import_time("import fastapi"))
        libraries.append(import_time(LIBRARIES))
        async with serving(env) as (_base, _pid, seconds):
            serve.append(seconds)
    return min(serve), min(baseline), min(libraries)


async def post_calls(
    base: str, key: str, requests: int, concurrency: int
) -> tuple[float, list[float]]:
    headers = {"Authorization": f"Bearer {key}"}
    not_before = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"to": "+14155550123", "flow": "customer_feedback", "not_before": not_before}
    latencies: list[float] = []
    remaining = requests

    async def client(http: aiohttp.ClientSession, record: bool) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            async with http.post(f"{base}/v1/calls", json=body, headers=headers) as response:
                await response.read()
                if response.status != 202:
                    raise RuntimeError(f"POST /v1/calls answered {response.status}")
            if record:
                latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        remaining = WARM_UP
        await asyncio.gather(*(client(http, False) for _ in range(concurrency)))
        remaining = requests
        started = time.perf_counter()
        await asyncio.gather(*(client(http, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, sorted(latencies)


def contacts_csv(count: int) -> bytes:
    out = io.StringIO()
    out.write("to,timezone,customer,ticket\r\n")
    for n in range(count):
        out.write(f"+1415555{n % 10000:04d},,Customer {n},T-{n}\r\n")
    return out.getvalue().encode()


def resident_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def campaign(base: str, pid: int, key: str, contacts: int) -> tuple[float, dict[str, float]]:
    headers = {"Authorization": f"Bearer {key}"}
    form = aiohttp.FormData()
    form.add_field("name", "bench")
    form.add_field("flow", "customer_feedback")
    form.add_field(
        "contacts", contacts_csv(contacts), filename="contacts.csv", content_type="text/csv"
    )
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        async with http.post(f"{base}/v1/campaigns", data=form, headers=headers) as response:
            created = await response.json()
            if response.status != 201:
                raise RuntimeError(f"POST /v1/campaigns answered {response.status}: {created}")
        accepted = time.perf_counter() - started
        growth: dict[str, float] = {}
        for kind, accept in (("jsonl", "application/x-ndjson"), ("csv", "text/csv")):
            before = peak = resident_kb(pid)
            rows = 0
            url = f"{base}/v1/campaigns/{created['id']}/results"
            async with http.get(url, headers={**headers, "Accept": accept}) as response:
                async for _line in response.content:
                    rows += 1
                    if rows % 500 == 0:
                        peak = max(peak, resident_kb(pid))
            peak = max(peak, resident_kb(pid))
            if rows < contacts:
                raise RuntimeError(f"{kind}: {rows} rows for {contacts} contacts")
            growth[kind] = (peak - before) / 1024
    return accepted, growth


async def measure(name: str, database_url: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        env = environment(database_url, data_dir)
        key = create_key(env)  # migrates the store, too
        startup, baseline, libraries = await start_up(env, args.starts)
        async with serving(env) as (base, pid, _seconds):
            rate, latencies = await post_calls(base, key, args.requests, args.concurrency)
            accepted, growth = await campaign(base, pid, key, args.contacts)
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(
        f"{name:10} {rate:7.0f}/s {p50:6.1f}ms {p99:6.1f}ms"
        f" {startup:6.2f}s {baseline:6.2f}s {startup / baseline:5.2f}x {libraries / baseline:5.2f}x"
        f" {accepted:6.2f}s {growth['jsonl']:+7.1f}MB {growth['csv']:+7.1f}MB",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    byte_compile()
    print(
        f"{'database':10} {'POST/s':>9} {'p50':>8} {'p99':>8} {'start':>7} {'fastapi':>7}"
        f" {'ratio':>6} {'floor':>6} {'csv in':>7} {'jsonl mem':>9} {'csv mem':>9}"
    )
    async with sqlite_url() as url:
        await measure("sqlite", url, args)
    async with postgres_url() as url:
        await measure("postgresql", url, args)


if __name__ == "__main__":
    asyncio.run(main())
