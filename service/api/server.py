"""Running the API under uvicorn until SIGTERM or Ctrl-C: the store migrated first, the
socket bound by us (so a port in use is one line and exit 2), a graceful shutdown after a
signal (requests under way finish, background work stops) and exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
from collections.abc import Generator

import structlog
import uvicorn

from flows.engine.clock import utc_now
from flows.errors import os_reason
from service.api.app import create_app
from service.api.simulation import SimulateOptions
from service.errors import ServiceError
from service.scheduler.running import check_dispatching, serve_work
from service.settings import Settings
from service.store import CallStore

GRACE_SECONDS = 10  # for requests under way (a results stream) after a signal

log = structlog.get_logger("intake.api")


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, listening: asyncio.Event) -> None:
        super().__init__(config)
        self.listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()  # the background work may start its imports now

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn raises the signal again once it has shut down, which would end the process
        # with 143 instead of the clean exit a requested stop is.
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.handle_exit, signum, None)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or ServiceError in one line (a port in use, an unknown host)."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _name, address = info[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
            sock.listen(2048)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ServiceError(f"cannot listen on {host}:{port}: {os_reason(exc)}") from None
    sock.setblocking(False)
    return sock


async def serve(
    settings: Settings,
    sock: socket.socket,
    *,
    simulate: SimulateOptions | None = None,
) -> None:
    simulated = simulate.clock() if simulate is not None else None
    clock = simulated or utc_now

    async def freeze_when_warm(stop: asyncio.Event) -> None:
        # Start-up leaves millions of long-lived objects (libraries, models, phone data):
        # scanning them again cost a pause of 100 ms every second or two under load.
        # Frozen, the collector looks only at what requests make.
        await app.state.warm.wait()
        gc.freeze()
        await stop.wait()

    store = await CallStore.open(
        settings.database.url, endpoints=settings.webhooks.endpoints, clock=clock
    )
    try:
        listening = asyncio.Event()
        scheduling = serve_work(settings, store, simulated=simulated, listening=listening)
        app = create_app(
            settings,
            store,
            clock=clock,
            simulate=simulate or False,
            background=[freeze_when_warm, scheduling],
        )
        gc.freeze()  # what start-up made stays: later collections skip it
        gc.enable()  # `intake serve` paused it while loading
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            ws="none",  # no websocket routes: not loading a protocol we never speak
            lifespan="on",
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
        host, port = sock.getsockname()[:2]
        log.info("api.listening", host=host, port=port, simulate=simulate is not None)
        await _Server(config, listening).serve(sockets=[sock])
        log.info("api.stopped")
    finally:
        await store.close()


def run(settings: Settings, host: str, port: int, simulate: SimulateOptions | None) -> None:
    check_dispatching(settings, simulated=simulate is not None)
    sock = listen(host, port)
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        loop_factory = None
    with sock, asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(settings, sock, simulate=simulate))
