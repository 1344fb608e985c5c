"""``/v1/flows``, ``/v1/dnc/{number}``, and the unauthenticated ``/healthz``, ``/readyz``,
``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from service.api.context import ApiContext, json_response
from service.api.errors import ApiError, ErrorBody, error_response, invalid, responses
from service.api.metrics import CONTENT_TYPE
from service.api.models import DncEntry, FlowList, FlowSummary, Health, StepSummary
from service.api.numbers import e164
from service.store.api_keys import Caller
from service.store.errors import StoreUnavailableError


def flows_router(ctx: ApiContext, auth: Callable[..., Awaitable[Caller]]) -> APIRouter:
    router = APIRouter(prefix="/v1/flows", tags=["flows"], dependencies=[Depends(auth)])

    @router.get("", response_model=FlowList, responses=responses())
    async def list_flows() -> Response:
        """The flows calls and campaigns may name: built-in ones and INTAKE_FLOWS_DIR's."""
        items = [
            FlowSummary(
                id=spec.id,
                name=spec.name,
                version=spec.version,
                steps=[
                    StepSummary(id=step.id, fields=[field.id for field in step.fields])
                    for step in spec.steps
                ],
            )
            for spec in ctx.flows.specs().values()
        ]
        return json_response(FlowList(items=items))

    @router.get("/{flow_id}", response_model=dict[str, Any], responses=responses(404))
    async def get_flow(flow_id: Annotated[str, Path(examples=["patient_intake"])]) -> Response:
        """The flow's validated spec, as JSON."""
        spec = ctx.flows.get(flow_id)
        if spec is None:
            raise ApiError(404, "not_found", "no such flow")
        return Response(spec.model_dump_json(by_alias=True), media_type="application/json")

    return router


Number = Annotated[str, Path(description="E.164 or national form", examples=["+14155550123"])]


def dnc_router(ctx: ApiContext, auth: Callable[..., Awaitable[Caller]]) -> APIRouter:
    router = APIRouter(prefix="/v1/dnc", tags=["do-not-call"], dependencies=[Depends(auth)])
    region = ctx.settings.default_region

    def normalised(number: str) -> str:
        found = e164(number, region)
        if found is None:
            raise invalid("number: not a valid phone number", "invalid_phone")
        return found

    @router.put("/{number}", status_code=204, response_class=Response, responses=responses())
    async def add_number(number: Number) -> Response:
        """Never call this number: calls to it are refused, campaign contacts blocked."""
        await ctx.dnc.add(normalised(number), source="api")
        return Response(status_code=204)

    @router.delete("/{number}", status_code=204, response_class=Response, responses=responses())
    async def remove_number(number: Number) -> Response:
        """Take the number off the list (204 whether it was on it or not)."""
        await ctx.dnc.remove(normalised(number))
        return Response(status_code=204)

    @router.get("/{number}", response_model=DncEntry, responses=responses(404))
    async def get_number(number: Number) -> Response:
        """200 if the number is on the list, else 404."""
        entry = await ctx.dnc.entry(normalised(number))
        if entry is None:
            raise ApiError(404, "not_found", "the number is not on the do-not-call list")
        return json_response(
            DncEntry(number=entry.number, added_at=entry.added_at, source=entry.source)
        )

    return router


def health_router(ctx: ApiContext) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> Response:
        """The process is up."""
        return json_response(Health(status="ok"))

    @router.get(
        "/readyz",
        response_model=Health,
        responses={503: {"model": ErrorBody, "description": "The store does not answer"}},
    )
    async def readyz() -> Response:
        """The store answers a query."""
        try:
            await ctx.requests.ping()
        except StoreUnavailableError:
            return error_response(503, "unavailable", "the store does not answer")
        return json_response(Health(status="ready"))

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """Prometheus text format."""
        return Response(await ctx.metrics.render(), media_type=CONTENT_TYPE)

    return router
