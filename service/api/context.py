"""What the routes share: settings, the clock, the store's parts, caches and metrics."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.responses import Response

from flows.engine.clock import Clock
from service.api.errors import ApiError
from service.api.flow_index import FlowIndex
from service.api.metrics import ApiMetrics
from service.api.simulation import SimulateOptions
from service.settings import Settings
from service.store.api_keys import ApiKeys
from service.store.campaigns import Campaigns
from service.store.dnc import DoNotCallList
from service.store.requests import CallRequests


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    clock: Clock
    requests: CallRequests
    campaigns: Campaigns
    keys: ApiKeys
    dnc: DoNotCallList
    flows: FlowIndex
    metrics: ApiMetrics
    simulate: SimulateOptions | None  # None: dialled calls go to LiveKit


CALL_ID = re.compile(r"call_[0-9A-HJKMNP-TV-Z]{26}")
CAMPAIGN_ID = re.compile(r"cmp_[0-9A-HJKMNP-TV-Z]{26}")


def require_id(value: str, shape: re.Pattern[str], what: str) -> str:
    """An id of the right shape; 404 at once for any other (never sent to the store)."""
    if shape.fullmatch(value) is None:
        raise ApiError(404, "not_found", f"no such {what}")
    return value


def json_response(model: BaseModel, status: int = 200) -> Response:
    """The model as JSON, serialised once (a returned Response skips FastAPI's own
    validation and encoding, which the declared response_model would otherwise repeat)."""
    return Response(
        model.model_dump_json(by_alias=True), status_code=status, media_type="application/json"
    )
