from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from categories import mark_categories
from fakes.livekit_server import FakeLiveKitServer
from livekit import api
from sqlalchemy.engine import make_url

from flows.engine.answers import AnswerContext
from flows.engine.ids import new_call_id
from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog
from flows.spec.flow import FlowSpec

TODAY = date(2026, 11, 27)
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test is unit, integration or postgres, by what its module uses (categories.py)."""
    mark_categories(items)


@pytest.fixture
async def livekit() -> AsyncIterator[FakeLiveKitServer]:
    """The local LiveKit server (Twirp: RoomService, SIP, AgentDispatchService)."""
    async with FakeLiveKitServer() as server:
        yield server


@pytest.fixture
async def lkapi(livekit: FakeLiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    """The real livekit-api client, talking to the local server."""
    client = api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def catalog() -> FlowCatalog:
    return FlowCatalog()


@pytest.fixture(scope="session")
def intake(catalog: FlowCatalog) -> FlowSpec:
    return catalog.load("patient_intake")


@pytest.fixture(scope="session")
def feedback(catalog: FlowCatalog) -> FlowSpec:
    return catalog.load("customer_feedback")


@pytest.fixture
def ctx() -> AnswerContext:
    return AnswerContext(region="US", today=TODAY)


# --- the store and webhook delivery (tests/service/test_store*, test_webhook*, test_deliver*) ---

POSTGRES_ENV = "INTAKE_TEST_POSTGRES_URL"


def free_port() -> int:
    """A TCP port nobody listens on now, for a server a test starts in a subprocess."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def dropping_server() -> AsyncIterator[str]:
    """``http://127.0.0.1:PORT`` of a server that reads each request and closes the
    connection without a word (aiohttp: ServerDisconnectedError)."""

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a loop of its own, whatever loop the caller is in."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def postgres_execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run, dropped at the end: its postgresql:// URL."""
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set (CI sets it; .ci/run)")
    name = f"intake_test_{os.getpid()}_{secrets.token_hex(4)}"
    run_async(postgres_execute(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        run_async(postgres_execute(server, f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store, once on a SQLite file and once on PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'intake.db'}"
    url: str = request.getfixturevalue("postgres_database")
    run_async(postgres_execute(url, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return url


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: past the client's timeout, a timeout


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered (if the client still listened)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a deliverer opens dozens of connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client killed mid-request
            super().handle_error(request, client_address)


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1, in a thread: records every POST and answers as
    scripted (one ``Reply`` per request from ``script``, then 200). ``refuse()`` stops
    listening so connections are refused; ``listen()`` takes the same port again."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.listen()

    def url(self, path: str = "/hooks/intake") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def listen(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the client died mid-request: nothing was received
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    reply = receiver.script.popleft() if receiver.script else Reply()
                    receiver.received.append(Received(headers, body, reply.status))
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as it should

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = _Server(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server

    def refuse(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def by_id(self) -> dict[str, list[Received]]:
        grouped: dict[str, list[Received]] = {}
        for request in list(self.received):
            grouped.setdefault(request.webhook_id, []).append(request)
        return grouped


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.refuse()


def sample_payload(
    call_id: str | None = None, flow: str = "patient_intake", **changes: Any
) -> Payload:
    """A valid payload (CONTRACT.md section 1) without running a call; caller data included."""
    payload = Payload.model_validate(
        {
            "job_id": "AJ_qsV4cAeZCDPF",
            "room_id": "RM_hNJarY6HwLaY",
            "room": "call-7f3a",
            "started_at": "2026-03-24T00:19:44.514403Z",
            "ended_at": "2026-03-24T00:21:02.729760Z",
            "summary": "Inbound patient intake call ended with status completed.",
            "results": {"patient": {"full_name": "Zoë Quill", "date_of_birth": "1980-03-05"}},
            "call_id": call_id or new_call_id(),
            "flow": flow,
            "flow_version": "9c1e4b2a",
            "direction": "inbound",
            "from": "+14155550123",
            "to": "+18005550100",
            "status": "completed",
            "ended_reason": "completed",
            "fields": {
                "patient.full_name": {
                    "status": "collected",
                    "source": "voice",
                    "attempts": 1,
                    "confirmed": False,
                },
                "patient.date_of_birth": {
                    "status": "collected",
                    "source": "dtmf",
                    "attempts": 2,
                    "confirmed": True,
                },
            },
            "transfer": None,
            "metadata": {"ticket": "T-1"},
        }
    )
    return payload.model_copy(update=changes)


@pytest.fixture
def make_payload() -> Callable[..., Payload]:
    return sample_payload


class FakeClock:
    """A clock that moves only when told; starts at the real time, so signatures verify."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
