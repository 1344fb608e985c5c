"""The ``intake`` console script: the command line loads with the cyclic collector paused.

Loading typer, structlog, the settings and what they validate with allocates a few hundred
thousand objects that live as long as the process; collecting while they pile up walks them
again and again for nothing. ``main()`` turns collection back on once the settings are read
and logging is set up, before any command runs (``intake serve`` pauses it again while it
loads the API).
"""

from __future__ import annotations

import gc


def run() -> None:
    gc.disable()
    from service.cli import main  # typer, structlog and the settings models

    main.run()
