"""``Dispatcher`` through LiveKit's agent dispatch: the worker registered under the agent
name is sent into the dial's room with the job metadata, and places the call from there.

Errors as livekit-server answers them (pkg/service/agent_dispatch_service.go, psrpc):
requests it can never accept (bad credentials, metadata over the size limit, a malformed
request) are final; a node that does not answer (``unavailable``: psrpc's "no response
from servers"), a deadline, a server error or no network at all may pass, so they are
retryable. One request per dispatch (no Cloud region failover: a lost dial is retried by
the scheduler, which also withdraws it first). Messages are fixed text: never the server's
words, never caller data.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable

import aiohttp
import structlog
from livekit import api

from service.scheduler.dispatch import DISPATCHING, Dispatch, DispatchError
from service.settings import LiveKitSettings
from sip.livekit_errors import LIVEKIT_REQUEST_ERRORS

log = structlog.get_logger("intake.scheduler")

REQUEST_TIMEOUT = 10.0  # seconds for one request to LiveKit
# Twirp codes that say the same request will be refused again.
FINAL_CODES = frozenset(
    {
        "invalid_argument",
        "malformed",
        "out_of_range",
        "bad_route",
        "unauthenticated",
        "permission_denied",
        "unimplemented",
        "not_found",
        "already_exists",
    }
)


def dispatch_error(exc: BaseException) -> DispatchError:
    """What a failed CreateDispatch means: a one-line reason, and whether to retry."""
    if isinstance(exc, api.ServerError):
        if exc.status == 401 and exc.code == "unknown":  # a token the server cannot verify
            return DispatchError("LiveKit refused the API key (unauthenticated)", retryable=False)
        retryable = exc.code not in FINAL_CODES
        return DispatchError(f"LiveKit refused the dispatch ({exc.code})", retryable=retryable)
    if isinstance(exc, TimeoutError):
        return DispatchError("LiveKit did not answer the dispatch in time", retryable=True)
    return DispatchError(f"LiveKit unreachable ({exc.__class__.__name__})", retryable=True)


class LiveKitDispatcher:
    def __init__(
        self, lkapi: api.LiveKitAPI, *, agent_name: str, timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self._api, self._agent_name, self._timeout = lkapi, agent_name, timeout

    @classmethod
    def from_settings(
        cls, livekit: LiveKitSettings, *, timeout: float = REQUEST_TIMEOUT
    ) -> LiveKitDispatcher:
        """From INTAKE_LIVEKIT__*; ConfigError naming the variable when one is missing.
        Call it in a running event loop (the client's HTTP session belongs to it)."""
        url, key, secret = livekit.credentials(DISPATCHING)
        lkapi = api.LiveKitAPI(
            url, key, secret, timeout=aiohttp.ClientTimeout(total=timeout), failover=False
        )
        return cls(lkapi, agent_name=livekit.agent_name, timeout=timeout)

    async def aclose(self) -> None:
        await self._api.aclose()

    async def dispatch(self, job: Dispatch) -> None:
        request = api.CreateAgentDispatchRequest(
            agent_name=self._agent_name, room=job.room, metadata=json.dumps(job.job_metadata())
        )
        try:
            async with asyncio.timeout(self._timeout):
                await self._api.agent_dispatch.create_dispatch(request)
        except LIVEKIT_REQUEST_ERRORS as exc:
            raise dispatch_error(exc) from None

    async def withdraw(self, job: Dispatch) -> None:
        """Delete the room's dispatches of our agent, then the room itself (a job already
        started ends with its room). Best effort: what is gone already is fine, other
        failures are logged."""
        try:
            async with asyncio.timeout(self._timeout):
                for found in await self._api.agent_dispatch.list_dispatch(job.room):
                    if found.agent_name == self._agent_name:
                        await self._ignoring_gone(
                            self._api.agent_dispatch.delete_dispatch(found.id, job.room)
                        )
        except LIVEKIT_REQUEST_ERRORS as exc:
            # "unavailable" is also what a room that no longer exists gets: no node serves it
            _log_withdraw_failure(job, "list_dispatch", exc)
        try:
            async with asyncio.timeout(self._timeout):
                await self._ignoring_gone(
                    self._api.room.delete_room(api.DeleteRoomRequest(room=job.room))
                )
        except LIVEKIT_REQUEST_ERRORS as exc:
            _log_withdraw_failure(job, "delete_room", exc)

    @staticmethod
    async def _ignoring_gone(request: Awaitable[object]) -> None:
        try:
            await request
        except api.ServerError as exc:
            if exc.code != "not_found":
                raise


def _log_withdraw_failure(job: Dispatch, step: str, exc: BaseException) -> None:
    code = exc.code if isinstance(exc, api.ServerError) else exc.__class__.__name__
    log.warning(
        "dispatch.withdraw_failed", call_id=job.call_id, attempt=job.attempt, step=step, error=code
    )
