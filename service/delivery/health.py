"""``intake deliver``'s health endpoint (INTAKE_WEBHOOKS__HEALTH_PORT): ``GET /healthz``.

200 while the delivery loop keeps looking at the outbox; 503 once it has not for longer
than a look can take (the store unreachable, or the loop stuck), so the image's
HEALTHCHECK and Kubernetes' probes see a deliverer that is running but not working.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiohttp import web

Seconds = Callable[[], float]


class Liveness:
    """When the loop last looked at the outbox, and how long a look may take."""

    def __init__(self, stale_after: float, *, clock: Seconds = time.monotonic) -> None:
        self._stale_after, self._clock = stale_after, clock
        self._looked_at = clock()  # starting counts: the store is being opened

    def looked(self) -> None:
        self._looked_at = self._clock()

    def behind(self) -> float:
        """Seconds past the allowance since the last look; 0 while healthy."""
        return max(0.0, self._clock() - self._looked_at - self._stale_after)


def health_app(liveness: Liveness) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        behind = liveness.behind()
        if behind:
            return web.json_response(
                {"status": "stalled", "behind_s": round(behind, 1)}, status=503
            )
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


async def serve_health(liveness: Liveness, port: int, stop: asyncio.Event) -> None:
    """Answer on all interfaces (a container's probe comes from outside) until ``stop``."""
    runner = web.AppRunner(health_app(liveness), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, port=port).start()
        await stop.wait()
    finally:
        await runner.cleanup()
