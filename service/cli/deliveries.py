"""``intake deliver``, ``intake deliveries list|replay``, ``intake calls show``, and the
delivery half of ``intake simulate --deliver``.

Results go to stdout; progress and the outcome of each attempt to stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from service.cli.context import settings_of
from service.errors import ServiceError
from service.settings import Settings, prepare_data_dir

if TYPE_CHECKING:  # the store and delivery stack load only for the commands that use them
    from flows.engine.payload import Payload
    from service.delivery.dispatcher import Report
    from service.store import CallStore, DeliveryRecord

T = TypeVar("T")

deliveries_app = typer.Typer(
    help="Webhook deliveries: list them, replay failed ones.", no_args_is_help=True
)
calls_app = typer.Typer(help="Stored calls and their payloads.", no_args_is_help=True)


def _with_store(settings: Settings, work: Callable[[CallStore], Awaitable[T]]) -> T:
    from service.store import CallStore

    prepare_data_dir(settings)  # the default SQLite file lives there

    async def run() -> T:
        endpoints = settings.webhooks.endpoints
        async with await CallStore.open(settings.database.url, endpoints=endpoints) as store:
            return await work(store)

    return asyncio.run(run())


def _progress(line: str) -> None:
    print(f"intake: {line}", file=sys.stderr)


def _describe(report: Report) -> str:
    from service.webhook_targets import masked_url

    what = f"delivery {report.delivery_id} to {masked_url(report.endpoint_url)}: {report.outcome}"
    why = [f"HTTP {report.status_code}"] if report.status_code else []
    why += [report.error] if report.error else []
    if why:
        what += f" ({', '.join(why)})"
    if report.next_attempt_at is not None:
        when = report.next_attempt_at.strftime("%Y-%m-%d %H:%M:%SZ")
        what += f"; next attempt at {when} by `intake deliver`"
    return what


def deliver_payload(settings: Settings, payload: Payload) -> None:
    """Store a payload as a finished call and make its first delivery attempts now."""

    async def work(store: CallStore) -> list[Report]:
        await store.call_finished(payload)
        ids = await store.outbox.of_call(payload.call_id)
        if not ids:
            _progress(f"no webhook endpoint takes flow {payload.flow}; the payload is stored")
        from service.delivery.process import attempt_now

        return await attempt_now(store, settings.webhooks, ids)

    for report in _with_store(settings, work):
        _progress(_describe(report))


@deliveries_app.command("list")
def list_deliveries(
    ctx: typer.Context,
    failed: Annotated[bool, typer.Option("--failed", help="Only dead letters.")] = False,
    limit: Annotated[
        int, typer.Option(min=1, max=100_000, help="At most this many, newest first.")
    ] = 50,
) -> None:
    """Deliveries, newest first: state, attempts, the last answer."""
    from service.webhook_targets import masked_url

    records = _with_store(
        settings_of(ctx), lambda store: store.outbox.recent(failed_only=failed, limit=limit)
    )
    print(f"{'ID':>6}  {'STATE':9} {'TRIES':>5}  {'LAST':22} {'CALL':31} ENDPOINT")
    for record in records:
        print(
            f"{record.id:>6}  {record.state:9} {record.attempts:>5}  {_last(record):22} "
            f"{record.call_id:31} {masked_url(record.endpoint_url)}"
        )


def _last(record: DeliveryRecord) -> str:
    if record.last_status_code is not None:
        return f"HTTP {record.last_status_code}"
    return (record.last_error or "-")[:22]


@deliveries_app.command("replay")
def replay(
    ctx: typer.Context,
    delivery_id: Annotated[
        int | None, typer.Argument(min=1, max=2**63 - 1, help="The delivery to send again.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every dead letter.")] = False,
) -> None:
    """Send a delivery (or every dead letter) again now, with the same webhook-id; the
    schedule starts over and a disabled endpoint is enabled again."""
    if (delivery_id is None) == (not failed):
        raise ServiceError("give either a delivery ID or --failed")
    settings = settings_of(ctx)

    async def work(store: CallStore) -> list[Report]:
        ids = await store.outbox.replay(None if failed else delivery_id)
        _progress(f"replaying {len(ids)} deliveries")
        from service.delivery.process import attempt_now

        return await attempt_now(store, settings.webhooks, ids)

    reports = _with_store(settings, work)
    for report in reports:
        print(_describe(report))


@calls_app.command("show")
def show_call(
    ctx: typer.Context, call_id: Annotated[str, typer.Argument(help="A call id (call_...).")]
) -> None:
    """The stored payload of a finished call, as JSON."""
    payload = _with_store(settings_of(ctx), lambda store: store.get_payload(call_id))
    if payload is None:
        raise ServiceError(f"no stored payload for {call_id} (unknown, or still in progress)")
    print(json.dumps(payload.to_json_dict(), indent=2))


def deliver_command(ctx: typer.Context) -> None:
    """Deliver webhooks, import payloads spooled while the database was down and finalise
    orphaned calls, until SIGTERM or Ctrl-C."""
    settings = settings_of(ctx)
    if not settings.webhooks.endpoints:
        _progress("no endpoints in INTAKE_WEBHOOKS__ENDPOINTS: payloads are kept, not sent")
    spool = prepare_data_dir(settings)
    from service.delivery.process import serve_until_signalled
    from service.store.spool import Spool

    asyncio.run(serve_until_signalled(settings.database.url, settings.webhooks, Spool(spool)))
