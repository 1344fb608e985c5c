"""What every ``intake`` command gets from the root: the settings built once in ``main()``."""

from __future__ import annotations

import typer

from service.settings import Settings


def settings_of(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings
