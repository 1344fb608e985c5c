"""``/v1/calls``: create (202), get, list (newest first, keyset cursor), cancel."""

# No `from __future__ import annotations`: FastAPI reads the signatures at run time, and
# `Depends(auth)` names a local of the factory, which a string annotation cannot reach.

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from service.api.auth import SECURITY, caller_of
from service.api.context import CALL_ID, ApiContext, json_response, require_id
from service.api.errors import invalid, parse_error, responses
from service.api.models import PRINTABLE, CallCreate, CallOut, CallPage
from service.api.numbers import e164
from service.api.simulation import NOT_SIMULATING, script_check
from service.scheduler.zones import valid_zone
from service.store.api_keys import Caller
from service.store.requests import CallFilter, Idempotency, NewCall
from service.store.schema import RequestStatus

IDEMPOTENCY_KEY_LENGTH = 200
CREATE_CALL = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallCreate"}}},
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "The same key and body return the same call; another body is 409",
            "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_LENGTH},
        }
    ],
    "security": SECURITY,
}


def calls_router(ctx: ApiContext, auth: Callable[..., Awaitable[Caller]]) -> APIRouter:
    router = APIRouter(prefix="/v1/calls", tags=["calls"])
    region = ctx.settings.default_region

    @router.post(
        "",
        status_code=202,
        response_model=CallOut,
        responses=responses(409, 413, 429),
        openapi_extra=CREATE_CALL,
        summary="Request an outbound call",
    )
    async def create_call(request: Request) -> Response:
        """The hot path: the key, the body and the Idempotency-Key header are read here,
        not through FastAPI's dependency solving (a third of a request's time)."""
        caller = await caller_of(ctx.keys, request.headers.get("authorization"))
        try:
            body = CallCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise parse_error(exc) from None
        to = e164(body.to, region)
        if to is None:
            raise invalid("to: not a valid phone number", "invalid_phone")
        caller_id = None if body.from_ is None else e164(body.from_, region)
        if body.from_ is not None and caller_id is None:
            raise invalid("from: not a valid phone number", "invalid_phone")
        spec = ctx.flows.get(body.flow)
        if spec is None:
            raise invalid("flow: no such flow; GET /v1/flows lists them", "unknown_flow")
        zone = body.timezone or None
        if zone is not None and not valid_zone(zone):
            raise invalid("timezone: not a known IANA time zone such as America/New_York")
        if "simulate" in body.model_fields_set and ctx.simulate is None:
            raise invalid(NOT_SIMULATING)
        if body.simulate is not None:
            problem = script_check(spec, region)(body.simulate)
            if problem is not None:
                raise invalid(problem)
        call = NewCall(
            flow=body.flow,
            to=to,
            from_=caller_id,
            metadata=body.metadata,
            not_before=body.not_before,
            timezone=zone,
            simulate=body.simulate,
        )
        idempotency = _idempotency(request.headers.get("idempotency-key"), body)
        return json_response(CallOut.of(await ctx.requests.create(call, caller, idempotency)), 202)

    @router.get(
        "",
        response_model=CallPage,
        responses=responses(),
        dependencies=[Depends(auth)],
        summary="List calls",
    )
    async def list_calls(
        status: RequestStatus | None = None,
        flow: Annotated[str | None, Query(max_length=200, pattern=PRINTABLE)] = None,
        campaign_id: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(pattern=f"^{CALL_ID.pattern}$")] = None,
    ) -> Response:
        page = await ctx.requests.list_calls(
            CallFilter(status, flow, campaign_id), limit=limit, cursor=cursor
        )
        return json_response(
            CallPage(items=[CallOut.of(item) for item in page.items], next_cursor=page.next_cursor)
        )

    @router.get(
        "/{call_id}",
        response_model=CallOut,
        responses=responses(404),
        dependencies=[Depends(auth)],
        summary="A call",
    )
    async def get_call(call_id: str) -> Response:
        call = await ctx.requests.get(require_id(call_id, CALL_ID, "call"))
        return json_response(CallOut.of(call))

    @router.post(
        "/{call_id}/cancel",
        response_model=CallOut,
        responses=responses(404, 409),
        dependencies=[Depends(auth)],
        summary="Cancel a queued call",
    )
    async def cancel_call(call_id: str) -> Response:
        call = await ctx.requests.cancel(require_id(call_id, CALL_ID, "call"))
        return json_response(CallOut.of(call))

    return router


def _idempotency(key: str | None, body: CallCreate) -> Idempotency | None:
    if key is None:
        return None
    if not 0 < len(key) <= IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
        raise invalid(f"Idempotency-Key: 1 to {IDEMPOTENCY_KEY_LENGTH} printable characters")
    canonical = json.dumps(
        body.model_dump(mode="json", by_alias=True, exclude_unset=True), sort_keys=True
    )
    return Idempotency(key, hashlib.sha256(canonical.encode()).hexdigest())
