"""What a live worker needs, checked: each problem one line naming the setting to fix.

Three kinds of finding. *Errors* break every call (a credential unset, a LiveKit URL the
worker cannot use, a routed flow that does not load): ``intake worker`` refuses to start.
*Gaps* break some calls (a routed flow that can transfer to a person but has nowhere to
dial, or no trunk to dial through): ``intake worker`` warns, ``intake worker --check`` fails.
*Warnings* are worth knowing. ``--check`` then tries what needs the network: one cheap
LiveKit API call with the credentials, and the store opened, migrated and written to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from livekit import api
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from flows.errors import FlowError
from flows.spec.flow import FlowSpec
from service.errors import ConfigError
from service.live import noise_cancellation, transfer_mode
from service.pipeline import required_credentials
from service.settings import Settings, flow_catalog
from service.store import CallStore, StoreError
from sip.livekit_errors import LIVEKIT_UNREACHABLE
from sip.trunks import TRUNK_ID_PREFIX, outbound_trunk_id

PROBE_TIMEOUT = 5.0  # seconds for the one request (no region failover: one answer)
PROBE_ROOM = "intake-worker-check"  # ListRooms filtered to a name nobody uses: an empty answer


@dataclass
class Findings:
    errors: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def inspect_settings(settings: Settings) -> Findings:
    """Everything that can be told without the network."""
    found = Findings()
    found.errors += [
        f"{name} is not set" for name, value in required_credentials(settings) if not value
    ]
    # a URL that is not ws(s)/http(s) with a host is refused with the settings
    try:
        noise_cancellation(settings)  # `on` needs its plugin installed
    except ConfigError as exc:
        found.errors.append(str(exc))
    routed = _routed_flows(settings, found)
    for spec, where in routed.values():
        found.gaps += _transfer_gaps(settings, spec, where)
    if not settings.routes and not settings.default_flow:
        found.warnings.append(
            "no INTAKE_ROUTES or INTAKE_DEFAULT_FLOW: an inbound call is refused unless its"
            " dispatch rule names its flow (intake provision)"
        )
    if not settings.livekit.sip_outbound_trunk:
        found.warnings.append("no INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK: outbound calls fail")
    if not settings.transfer_to and not found.gaps:
        found.warnings.append(
            "no INTAKE_TRANSFER_TO: flows without a transfer.destination cannot transfer"
        )
    return found


def _routed_flows(settings: Settings, found: Findings) -> dict[str, tuple[FlowSpec, str]]:
    """The flows inbound calls can reach, by id, with the setting that routes each."""
    catalog = flow_catalog(settings)
    routes = [(f"INTAKE_ROUTES: {number}", flow) for number, flow in settings.routes.items()]
    if settings.default_flow:
        routes.append(("INTAKE_DEFAULT_FLOW", settings.default_flow))
    routed: dict[str, tuple[FlowSpec, str]] = {}
    for where, flow in routes:
        try:
            spec = catalog.load(flow)
        except FlowError as exc:
            found.errors.append(f"{where}: {exc}")
            continue
        routed.setdefault(spec.id, (spec, where))
    return routed


def _transfer_gaps(settings: Settings, spec: FlowSpec, where: str) -> list[str]:
    if spec.transfer is None or not spec.transfer.triggers:
        return []
    flow = f"flow {spec.id} ({where})"
    if not (spec.transfer.destination or settings.transfer_to):
        return [
            f"{flow} transfers callers to a person but has nowhere to dial: set"
            " INTAKE_TRANSFER_TO or the flow's transfer.destination"
        ]
    if transfer_mode(settings) == "warm" and not settings.livekit.sip_outbound_trunk:
        return [
            f"{flow} transfers warm (INTAKE_VOICE__TRANSFER_MODE), which dials the person"
            " through a SIP trunk: set INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK"
        ]
    return []


@dataclass(frozen=True)
class LiveKitAnswer:
    """How LiveKit answered one API call made with the worker's credentials."""

    kind: Literal["ok", "refused", "unreachable", "unexpected"]
    problem: str | None = None  # one line naming the setting, unless ok


async def reach_livekit(settings: Settings, *, timeout: float = PROBE_TIMEOUT) -> LiveKitAnswer:
    """ListRooms for one unused name: cheap, and it needs valid credentials."""
    livekit = settings.livekit
    url, key, secret = livekit.url, livekit.api_key, livekit.api_secret
    assert url is not None and key is not None and secret is not None
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    lkapi = api.LiveKitAPI(
        url,
        key.get_secret_value(),
        secret.get_secret_value(),
        timeout=client_timeout,
        failover=False,
    )
    async with lkapi:
        try:
            await lkapi.room.list_rooms(api.ListRoomsRequest(names=[PROBE_ROOM]))
            return await _find_trunk(lkapi, url, livekit.sip_outbound_trunk)
        except api.ServerError as exc:
            return _refusal(url, exc)
        except LIVEKIT_UNREACHABLE as exc:
            reason = str(exc) or f"no answer within {timeout:g} s"
            return LiveKitAnswer(
                "unreachable", f"INTAKE_LIVEKIT__URL: cannot reach LiveKit at {url}: {reason}"
            )


async def _find_trunk(lkapi: api.LiveKitAPI, url: str, trunk: str | None) -> LiveKitAnswer:
    if not trunk:
        return LiveKitAnswer("ok")
    if trunk.startswith(TRUNK_ID_PREFIX):
        listed = await lkapi.sip.list_outbound_trunk(
            api.ListSIPOutboundTrunkRequest(trunk_ids=[trunk])
        )
        found = any(item.sip_trunk_id == trunk for item in listed.items)
    else:  # a name: the telephony file's, found the way each dial finds it
        found = await outbound_trunk_id(lkapi.sip, trunk) is not None
    if found:
        return LiveKitAnswer("ok")
    return LiveKitAnswer(
        "unexpected",
        f"INTAKE_LIVEKIT__SIP_OUTBOUND_TRUNK: LiveKit at {url} has no outbound trunk {trunk}",
    )


def _refusal(url: str, exc: api.ServerError) -> LiveKitAnswer:
    said = f"HTTP {exc.status}" + (f": {exc.message}" if exc.message else "")
    if exc.status in (401, 403):  # a token that does not verify, or lacks the grant
        return LiveKitAnswer(
            "refused",
            f"INTAKE_LIVEKIT__API_KEY, INTAKE_LIVEKIT__API_SECRET: LiveKit at {url} refused"
            f" them ({said})",
        )
    if exc.status >= 500:  # LiveKit, or what stands in front of it, is in trouble for now
        return LiveKitAnswer(
            "unreachable", f"INTAKE_LIVEKIT__URL: LiveKit at {url} failed ({said})"
        )
    return LiveKitAnswer(
        "unexpected",
        f"INTAKE_LIVEKIT__URL: {url} did not answer as a LiveKit server ({said}, {exc.code})",
    )


async def probe_store(settings: Settings) -> list[str]:
    """Open and migrate the store as the worker does, then a test write."""
    url = settings.database.url
    where = make_url(url).render_as_string(hide_password=True)
    try:
        store = await CallStore.open(url)
    except StoreError as exc:  # its message names the database already
        return [f"INTAKE_DATABASE__URL: {exc}{_driver_reason(exc)}"]
    async with store:
        try:
            await store.check_writable()
        except (StoreError, SQLAlchemyError) as exc:
            return [f"INTAKE_DATABASE__URL: {where}: the test write failed{_driver_reason(exc)}"]
    return []


def _driver_reason(exc: BaseException) -> str:
    """The database's own words (say, 'attempt to write a readonly database'): first line."""
    cause = exc if isinstance(exc, DBAPIError) else exc.__cause__
    if isinstance(cause, DBAPIError) and str(cause.orig).strip():
        return f" ({str(cause.orig).strip().splitlines()[0][:200]})"
    return ""


async def check_worker(settings: Settings) -> tuple[list[str], list[str]]:
    """``intake worker --check``: (failures, warnings), each one line."""
    found = inspect_settings(settings)
    failures = found.errors + found.gaps
    livekit_ready = not any(e.startswith("INTAKE_LIVEKIT__") for e in found.errors)
    answer, store_problems = await asyncio.gather(
        reach_livekit(settings) if livekit_ready else _skipped(),
        probe_store(settings),
    )
    if answer.problem:
        failures.append(answer.problem)
    return failures + store_problems, found.warnings


async def _skipped() -> LiveKitAnswer:
    return LiveKitAnswer("ok")
