"""The part every local stand-in shares: an aiohttp app on 127.0.0.1, on a free port."""

from __future__ import annotations

from typing import Self

from aiohttp import web


class LocalServer:
    """Runs ``routes()`` on 127.0.0.1 inside ``async with``; ``origin`` is its base URL."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` while running."""
        if self._runner is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use `async with`")
        return "http://{}:{}".format(*self._runner.addresses[0])

    async def __aenter__(self) -> Self:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
