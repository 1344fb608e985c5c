"""``intake serve``: the HTTP API (and, once wired, the scheduler) in one process.

Only the settings and typer load before the command runs; FastAPI, uvicorn and the store
are imported by the command itself, and nothing on this path imports livekit.agents.
"""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from service.cli.context import settings_of
from service.errors import ServiceError
from service.settings import prepare_data_dir


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: INTAKE_API__HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port (default: INTAKE_API__PORT; 0: any free one)."),
    ] = None,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate", help="Run dialled calls through the offline simulator, not LiveKit."
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(help="--simulate: start the clock at this ISO-8601 time (UTC if no offset)."),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="--simulate: run the clock this many times faster (default 1)."),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) until SIGTERM or Ctrl-C, then stop gracefully.

    The store is migrated at start. Exit codes: 0 stopped as asked; 2 bad options or
    settings, a port in use, or a store that cannot be opened."""
    settings = settings_of(ctx)
    from service.api.simulation import simulate_options

    if not simulate and (now is not None or speed is not None):
        raise ServiceError("--now and --speed go with --simulate")
    options = simulate_options(now, 1.0 if speed is None else speed) if simulate else None
    prepare_data_dir(settings)  # the default SQLite file lives there
    # Loading the API allocates a few hundred thousand objects that live as long as the
    # process; collecting while they pile up walks them again and again for nothing (about
    # a twentieth of the start-up). The server turns collection back on once they are
    # loaded and frozen.
    gc.disable()
    try:
        from service.api.server import run

        run(
            settings,
            settings.api.host if host is None else host,
            settings.api.port if port is None else port,
            options,
        )
    finally:
        gc.enable()
