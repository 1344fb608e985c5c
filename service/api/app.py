"""``create_app``: the FastAPI application of ``intake serve``.

Background work (the scheduler, the simulator's deliverer) is handed in as coroutines that
run for the application's lifetime and stop when the event they are given is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import phonenumbers
import structlog
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from flows.engine.clock import Clock
from service.api import errors
from service.api.auth import authenticator
from service.api.context import ApiContext
from service.api.flow_index import FlowIndex
from service.api.limits import BodyLimit
from service.api.metrics import ApiMetrics, TimedRequests
from service.api.models import CallCreate, CampaignCreate, CampaignUpload
from service.api.numbers import e164
from service.api.results import ResultLine
from service.api.routes_calls import calls_router
from service.api.routes_campaigns import campaigns_router
from service.api.routes_misc import dnc_router, flows_router, health_router
from service.api.simulation import SimulateOptions
from service.scheduler.running import Background
from service.settings import Settings, flow_catalog
from service.store import CallStore
from service.store.api_keys import ApiKeys
from service.store.call_rows import zones_of
from service.store.campaigns import Campaigns
from service.store.dnc import DoNotCallList
from service.store.requests import CallRequests

TITLE = "intake"
DESCRIPTION = (
    "Outbound calls and campaigns of data-collection flows. Every route but /healthz, /readyz"
    " and /metrics needs `Authorization: Bearer <key>` (`intake keys create NAME`). Errors are"
    ' `{"error": {"code", "message"}}`.'
)

log = structlog.get_logger("intake.api")


def create_app(
    settings: Settings,
    store: CallStore,
    *,
    clock: Clock,
    simulate: SimulateOptions | bool = False,
    background: Sequence[Background] = (),
) -> FastAPI:
    """The API on ``store`` (migrated already). ``simulate`` (True, or the options of
    ``--simulate``) accepts calls' ``simulate`` scenarios; ``background`` coroutines run
    from start-up to shutdown."""
    engine = store.engine
    context = ApiContext(
        settings=settings,
        clock=clock,
        requests=CallRequests(engine, clock),
        campaigns=Campaigns(engine, clock),
        keys=ApiKeys(engine, clock, default_quota=settings.api.calls_per_minute),
        dnc=DoNotCallList(engine, clock),
        flows=FlowIndex(lambda: flow_catalog(settings)),
        metrics=ApiMetrics(engine, clock),
        simulate=_options(simulate),
    )
    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version="1",
        lifespan=_lifespan(background, context, warm := asyncio.Event()),
    )
    auth = authenticator(context.keys)
    app.include_router(health_router(context))
    app.include_router(calls_router(context, auth))
    app.include_router(campaigns_router(context, auth))
    app.include_router(flows_router(context, auth))
    app.include_router(dnc_router(context, auth))
    errors.install(app)
    api = settings.api
    app.add_middleware(BodyLimit, json_bytes=api.max_body_bytes, upload_bytes=api.max_csv_bytes)
    app.add_middleware(TimedRequests, metrics=context.metrics)
    app.state.context = context
    app.state.warm = warm  # set once the warm-up has run
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _options(simulate: SimulateOptions | bool) -> SimulateOptions | None:
    if isinstance(simulate, SimulateOptions):
        return simulate
    return SimulateOptions() if simulate else None


def _lifespan(
    background: Sequence[Background], context: ApiContext, warm: asyncio.Event
) -> Callable[[FastAPI], Any]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(work(stop)) for work in background]
        for task in tasks:
            task.add_done_callback(_report_failure)
        # the flow specs and phone metadata load now, beside the first requests, not in the
        # first call's path
        warm_up = asyncio.ensure_future(asyncio.to_thread(_warm_up, context))
        warm_up.add_done_callback(lambda _done: warm.set())
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(warm_up, *tasks, return_exceptions=True)
            await context.requests.close()

    return lifespan


def _report_failure(task: asyncio.Future[None]) -> None:
    """Background work that fails is logged when it fails, not at shutdown."""
    if not task.cancelled() and task.exception() is not None:
        log.error("api.background_failed", error=task.exception().__class__.__name__)


def _warm_up(context: ApiContext) -> None:
    context.flows.specs()
    example = phonenumbers.example_number(context.settings.default_region)
    if example is not None:
        number = e164(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164), "")
        if number is not None:
            zones_of(number, None)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the models of request bodies read by hand (a campaign's JSON
    or upload) and of streamed results, which no route signature names."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (CallCreate, CampaignCreate, CampaignUpload, ResultLine):
            generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, part in (*generated.pop("$defs", {}).items(), (model.__name__, generated)):
                if components.setdefault(name, part) != part:
                    raise RuntimeError(f"two different schemas named {name}")
        app.openapi_schema = schema
    return app.openapi_schema
