"""``/v1/campaigns``: create (JSON or a CSV upload), get with counts, pause, resume, cancel,
and the results stream."""

# No `from __future__ import annotations`: FastAPI reads the signatures at run time, and
# `Depends(auth)` names a local of the factory, which a string annotation cannot reach.

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.responses import Response, StreamingResponse

from service.api.contacts import check, from_csv_rows, read_csv, too_many_contacts
from service.api.context import CAMPAIGN_ID, ApiContext, json_response, require_id
from service.api.errors import invalid, parse_error, responses, too_large
from service.api.limits import MULTIPART
from service.api.models import CampaignCreate, CampaignOptions, CampaignOut
from service.api.results import CSV, JSONL, csv_rows, jsonl, wants_csv
from service.api.simulation import NOT_SIMULATING, ScriptCheck, script_check
from service.store.api_keys import Caller
from service.store.campaigns import Contact, NewCampaign

FORM_FIELDS = {"name", "flow", "window", "retry", "concurrency", "calls_per_second", "contacts"}
JSON_FORM_FIELDS = ("window", "retry")
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/CampaignCreate"}},
        MULTIPART: {"schema": {"$ref": "#/components/schemas/CampaignUpload"}},
    },
}
RESULTS = {
    "description": "One row per call, in creation order: JSON Lines, or CSV for"
    " `Accept: text/csv` (call_id, to, status, outcome, ended_reason, then one column per"
    " step.field of the flow)",
    "content": {
        JSONL: {"schema": {"$ref": "#/components/schemas/ResultLine"}},
        CSV: {"schema": {"type": "string"}},
    },
}


def campaigns_router(ctx: ApiContext, auth: Callable[..., Awaitable[Caller]]) -> APIRouter:
    router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], dependencies=[Depends(auth)])

    @router.post(
        "",
        status_code=201,
        response_model=CampaignOut,
        responses=responses(413, 429),
        openapi_extra={"requestBody": REQUEST_BODY},
        summary="Create a campaign (JSON, or multipart/form-data with a CSV of contacts)",
    )
    async def create_campaign(
        request: Request, caller: Annotated[Caller, Depends(auth)]
    ) -> Response:
        kind = request.headers.get("content-type", "application/json").lower()
        if kind.startswith(MULTIPART):
            options, contacts = await _upload(request, ctx)
        elif kind.startswith("application/json"):
            options, contacts = _json(await request.body(), ctx)
        else:
            raise invalid("expected application/json or multipart/form-data")
        if ctx.flows.get(options.flow) is None:
            raise invalid("flow: no such flow; GET /v1/flows lists them", "unknown_flow")
        new = NewCampaign(
            name=options.name,
            flow=options.flow,
            contacts=contacts,
            window=options.window,
            retry=options.retry,
            concurrency=options.concurrency,
            calls_per_second=options.calls_per_second,
        )
        return json_response(CampaignOut.of(await ctx.campaigns.create(new, caller)), 201)

    @router.get("/{campaign_id}", response_model=CampaignOut, responses=responses(404))
    async def get_campaign(campaign_id: str) -> Response:
        """The campaign with its calls counted by status (an ended call under its
        payload's status); ``done`` once no call is queued, dialling or in progress."""
        campaign = await ctx.campaigns.get(require_id(campaign_id, CAMPAIGN_ID, "campaign"))
        return json_response(CampaignOut.of(campaign))

    @router.post("/{campaign_id}/pause", response_model=CampaignOut, responses=responses(404, 409))
    async def pause_campaign(campaign_id: str) -> Response:
        """No more calls start until it is resumed; calls under way finish."""
        campaign = await ctx.campaigns.pause(require_id(campaign_id, CAMPAIGN_ID, "campaign"))
        return json_response(CampaignOut.of(campaign))

    @router.post("/{campaign_id}/resume", response_model=CampaignOut, responses=responses(404, 409))
    async def resume_campaign(campaign_id: str) -> Response:
        campaign = await ctx.campaigns.resume(require_id(campaign_id, CAMPAIGN_ID, "campaign"))
        return json_response(CampaignOut.of(campaign))

    @router.post("/{campaign_id}/cancel", response_model=CampaignOut, responses=responses(404, 409))
    async def cancel_campaign(campaign_id: str) -> Response:
        """Its queued calls are cancelled; calls under way finish."""
        campaign = await ctx.campaigns.cancel(require_id(campaign_id, CAMPAIGN_ID, "campaign"))
        return json_response(CampaignOut.of(campaign))

    @router.get(
        "/{campaign_id}/results",
        response_class=StreamingResponse,
        responses={200: RESULTS, **responses(404)},
    )
    async def campaign_results(campaign_id: str, request: Request) -> Response:
        campaign_id = require_id(campaign_id, CAMPAIGN_ID, "campaign")
        campaign = await ctx.campaigns.get(campaign_id)  # 404 before the stream starts
        batches = ctx.campaigns.result_batches(campaign_id)
        if wants_csv(request.headers.get("accept")):
            spec = ctx.flows.get(campaign.flow)
            paths = spec.paths() if spec is not None else []
            return StreamingResponse(csv_rows(batches, paths), media_type=f"{CSV}; charset=utf-8")
        return StreamingResponse(jsonl(batches), media_type=JSONL)

    return router


def _json(body: bytes, ctx: ApiContext) -> tuple[CampaignOptions, list[Contact]]:
    try:
        parsed = CampaignCreate.model_validate_json(body)
    except ValidationError as exc:
        raise parse_error(exc) from None
    limit = ctx.settings.api.max_contacts
    if len(parsed.contacts) > limit:
        raise too_many_contacts(limit)
    region = ctx.settings.default_region
    if ctx.simulate is None and any(c.simulate is not None for c in parsed.contacts):
        raise invalid(NOT_SIMULATING)
    scripts = _scripts(ctx, parsed.flow)
    contacts = [
        check(c.to, c.timezone, c.metadata or {}, region, simulate=c.simulate, scripts=scripts)
        for c in parsed.contacts
    ]
    return parsed, contacts


def _scripts(ctx: ApiContext, flow: str) -> ScriptCheck | None:
    """Under --simulate, what checks each contact's scripted callee."""
    if ctx.simulate is None:
        return None
    return script_check(ctx.flows.get(flow), ctx.settings.default_region)


async def _upload(request: Request, ctx: ApiContext) -> tuple[CampaignOptions, list[Contact]]:
    api = ctx.settings.api
    form = await request.form(max_files=1, max_fields=len(FORM_FIELDS), max_part_size=64 * 1024)
    try:
        unknown = sorted(set(form) - FORM_FIELDS)
        if unknown:
            raise invalid(f"{unknown[0]}: not a field of a campaign")
        upload = form.get("contacts")
        if not isinstance(upload, UploadFile):
            raise invalid("contacts: expected a CSV file")
        # the size the upload declares spares reading a file over the limit at all
        too_big = too_large(f"the CSV file is larger than {api.max_csv_bytes} bytes")
        if upload.size is not None and upload.size > api.max_csv_bytes:
            raise too_big
        data = await upload.read()
        if len(data) > api.max_csv_bytes:
            raise too_big
        fields: dict[str, Any] = {
            name: value for name, value in form.items() if isinstance(value, str)
        }
    finally:
        await form.close()
    for name in JSON_FORM_FIELDS:
        if name in fields:
            try:
                fields[name] = json.loads(fields[name])
            except json.JSONDecodeError:
                raise invalid(f"{name}: not valid JSON") from None
    try:
        options = CampaignOptions.model_validate(fields)
    except ValidationError as exc:
        raise parse_error(exc) from None
    scripts = _scripts(ctx, options.flow)
    rows = read_csv(data, max_contacts=api.max_contacts, scripted=scripts is not None)
    return options, from_csv_rows(rows, ctx.settings.default_region, scripts)
