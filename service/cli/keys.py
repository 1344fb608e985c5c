"""``intake keys create|list|revoke``: the API keys of ``intake serve``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from service.cli.context import settings_of
from service.errors import ServiceError
from service.settings import Settings, prepare_data_dir

if TYPE_CHECKING:  # the store loads only when a command runs
    from service.store.api_keys import ApiKeys

T = TypeVar("T")
keys_app = typer.Typer(help="API keys for `intake serve`.", no_args_is_help=True)

NAME_LIMIT = 200


def _with_keys(settings: Settings, work: Callable[[ApiKeys], Awaitable[T]]) -> T:
    from flows.engine.clock import utc_now
    from service.store import CallStore
    from service.store.api_keys import ApiKeys

    prepare_data_dir(settings)  # the default SQLite file lives there

    async def run() -> T:
        async with await CallStore.open(settings.database.url) as store:
            return await work(ApiKeys(store.engine, utc_now))

    return asyncio.run(run())


@keys_app.command("create")
def create_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name to recognise the key by, unique.")],
    quota: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1_000_000,
            help="Calls it may create per minute (default: INTAKE_API__CALLS_PER_MINUTE).",
        ),
    ] = None,
) -> None:
    """Make a key; it is printed once, alone on the last line (only its hash is stored)."""
    if not name.strip() or len(name) > NAME_LIMIT:
        raise ServiceError(f"a key name has 1 to {NAME_LIMIT} characters")
    issued = _with_keys(settings_of(ctx), lambda keys: keys.create(name, calls_per_minute=quota))
    limit = f"{quota} calls per minute" if quota else "the default quota"
    print(f"created API key {issued.record.name} ({issued.record.prefix}..., {limit}):")
    print(issued.secret)


@keys_app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Every key: name, the start of the key, quota, when made, whether revoked."""
    keys = _with_keys(settings_of(ctx), lambda keys: keys.list_keys())
    print(f"{'NAME':24} {'KEY':14} {'QUOTA/MIN':>9}  {'CREATED':20} REVOKED")
    for key in keys:
        quota = str(key.calls_per_minute) if key.calls_per_minute else "default"
        created = key.created_at.strftime("%Y-%m-%d %H:%M:%SZ")
        revoked = key.revoked_at.strftime("%Y-%m-%d %H:%M:%SZ") if key.revoked_at else "-"
        print(f"{key.name:24} {key.prefix + '...':14} {quota:>9}  {created:20} {revoked}")


@keys_app.command("revoke")
def revoke_key(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The key's name.")]
) -> None:
    """Revoke a key: requests with it are refused within a few seconds."""
    from service.store.errors import NotFoundError

    try:
        _with_keys(settings_of(ctx), lambda keys: keys.revoke(name))
    except NotFoundError:
        raise ServiceError(f"no API key is named {name!r}") from None
    print(f"revoked API key {name}")
