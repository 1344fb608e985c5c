"""What the routes share: settings, the clock, the store's parts, caches and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel
from starlette.responses import Response

from service.api.flow_index import FlowIndex
from service.api.metrics import ApiMetrics
from service.api.simulation import SimulateOptions
from service.settings import Settings
from service.store.api_keys import ApiKeys
from service.store.campaigns import Campaigns
from service.store.clock import Clock
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


def json_response(model: BaseModel, status: int = 200) -> Response:
    """The model as JSON, serialised once (a returned Response skips FastAPI's own
    validation and encoding, which the declared response_model would otherwise repeat)."""
    return Response(
        model.model_dump_json(by_alias=True), status_code=status, media_type="application/json"
    )
