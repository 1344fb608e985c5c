"""Dialling through the offline simulator: ``intake serve --simulate``'s ``Dispatcher``.

Each dispatched call runs in a background task of the serving process, as the offline
simulator with a scripted callee (the call's ``simulate`` object: a section-3 scenario
without flow, direction, from and to; by default a callee who answers and stays silent).
It writes through the store exactly as a worker does (``service.job_store.Progress``): the
call's start, its answer, each step, a request not to be called again, then the payload with
the SIP status and retryability a real dial of that outcome would carry. The scheduler
settles it from those rows, not knowing the difference.

``livekit.agents`` (which the simulator runs on) is imported in a thread the first time a
call runs, never at import: ``intake serve`` without ``--simulate`` must not load it, and the
serving loop must not stall for the second the import takes.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from flows.engine.call import Call, CallInfo
from flows.engine.clock import Clock
from flows.engine.ids import short_id
from flows.engine.payload import Payload
from flows.engine.ports import CallRecorder
from flows.errors import FlowError, ScenarioError
from flows.spec.catalog import FlowCatalog
from flows.spec.documents import Document, DocumentError, validate
from flows.spec.flow import FlowSpec
from flows.testing.scenario import Scenario, check_against
from service.errors import ServiceError
from service.job_store import Progress
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.payloads import dialled_call_info

log = structlog.get_logger("intake.simulated")

SIMULATOR_ID = "simulator"  # calls.worker_id of simulated calls
SOURCE = "simulate"  # how errors name the request's object
FROM_THE_CALL = ("flow", "direction", "from", "from_", "to")
FINISH_ATTEMPTS = 3  # storing the payload: 1 s, then 2 s between tries


class SimulatedCalleeError(ServiceError):
    """A call's ``simulate`` object is not a valid scripted callee. One line naming the key."""


def simulated_callee(
    obj: Mapping[str, Any] | None, *, spec: FlowSpec | None = None, region: str = "US"
) -> Scenario:
    """The scripted callee of a call's ``simulate`` object, checked at request time.

    ``None`` is the default callee: answers, then says nothing. Keys that come from the call
    (flow, direction, from, to) are refused; with ``spec``, every answer path must name a
    question of that flow. Raises SimulatedCalleeError; never imports livekit.agents."""
    if obj is None:
        obj = {}
    if not isinstance(obj, Mapping):
        raise SimulatedCalleeError(f"{SOURCE}: expected an object (a scenario)")
    for key in FROM_THE_CALL:
        if key in obj:
            name = key.rstrip("_")
            raise SimulatedCalleeError(f"{SOURCE}.{name}: comes from the call; leave it out")
    try:
        scenario = validate(Scenario, Document(source=SOURCE, data=dict(obj)))
    except DocumentError as exc:
        where, what = exc.problems[0]
        raise SimulatedCalleeError(f"{SOURCE}.{where}: {what}") from None
    scenario = scenario.model_copy(update={"direction": "outbound"})
    if spec is not None:
        try:
            scenario = check_against(scenario, spec, SOURCE, region)
        except ScenarioError as exc:
            raise SimulatedCalleeError(str(exc).replace(f"{SOURCE}: ", f"{SOURCE}.", 1)) from None
    return scenario


@dataclass(frozen=True)
class _Prepared:
    spec: FlowSpec
    scenario: Scenario
    info: CallInfo


@dataclass
class _Attempt:
    """One dispatched dial under way."""

    prepared: _Prepared
    task: asyncio.Task[None] | None = None
    call: Call | None = None  # once the simulator has made it
    withdrawn: bool = False


class SimulatedDispatcher:
    """A ``Dispatcher`` whose calls are simulated in this process, on ``clock``'s time."""

    def __init__(
        self,
        store: CallRecorder,
        catalog: FlowCatalog,
        *,
        region: str,
        transfer_to: str | None,
        clock: Clock,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self._store, self._catalog = store, catalog
        self._region, self._transfer_to, self._clock = region, transfer_to, clock
        self._heartbeat_interval = heartbeat_interval
        self._attempts: dict[tuple[str, int], _Attempt] = {}

    @property
    def running(self) -> int:
        """Simulated calls under way."""
        return len(self._attempts)

    async def dispatch(self, job: Dispatch) -> None:
        """Start the call in the background and return. A flow or script that cannot run
        is a DispatchError that retrying will not help; a second dispatch of the same
        attempt while it runs changes nothing."""
        key = (job.call_id, job.attempt)
        if key in self._attempts:
            return
        attempt = _Attempt(self._prepare(job))
        attempt.task = asyncio.create_task(self._run(attempt), name=f"simulated-{job.call_id}")
        self._attempts[key] = attempt
        attempt.task.add_done_callback(lambda done: self._forget(key, done))
        log.info("simulated_call.dispatched", call_id=job.call_id, attempt=job.attempt)

    async def withdraw(self, job: Dispatch) -> None:
        """Stop the attempt's call if it runs; its payload is not stored."""
        attempt = self._attempts.get((job.call_id, job.attempt))
        if attempt is not None:
            await self._stop(attempt)
            log.info("simulated_call.withdrawn", call_id=job.call_id, attempt=job.attempt)

    async def aclose(self) -> None:
        """Stop every call under way and wait for them to unwind; none is stored."""
        await asyncio.gather(*(self._stop(attempt) for attempt in list(self._attempts.values())))

    async def _stop(self, attempt: _Attempt) -> None:
        """A call that runs is ended, not cancelled: its session then closes as after a
        hang-up (cancelling livekit's session mid-start leaves its tasks behind). Before
        the call exists (the first import), the task is cancelled."""
        attempt.withdrawn = True
        task = attempt.task
        assert task is not None
        if attempt.call is None:
            task.cancel()
        else:
            attempt.call.finish("error")
        await asyncio.wait([task])

    def _forget(self, key: tuple[str, int], task: asyncio.Task[None]) -> None:
        attempt = self._attempts.get(key)
        if attempt is not None and attempt.task is task:
            del self._attempts[key]
        error = None if task.cancelled() else task.exception()
        if error is not None:  # e.g. the store refused the call's start for good
            log.error("simulated_call.crashed", call_id=key[0], error=type(error).__name__)

    def _prepare(self, job: Dispatch) -> _Prepared:
        try:
            spec = self._catalog.load(job.flow)
        except FlowError:
            raise DispatchError("the call's flow cannot be loaded", retryable=False) from None
        try:
            callee = simulated_callee(job.simulate, spec=spec, region=self._region)
        except SimulatedCalleeError as exc:
            raise DispatchError(str(exc), retryable=False) from None
        scenario = callee.model_copy(
            update={"flow": spec.id, "direction": "outbound", "from_": job.from_, "to": job.to}
        )
        info = dialled_call_info(
            job,
            job_id=short_id("AJ_"),
            room_id=short_id("RM_"),
            metadata={**scenario.metadata, **job.metadata},  # the call's own keys win
        )
        return _Prepared(spec, scenario, info)

    async def _run(self, attempt: _Attempt) -> None:
        await asyncio.to_thread(importlib.import_module, "flows.testing.simulator")
        from flows.testing import simulator  # imported above, off the loop: this is a lookup
        from sip.statuses import SIMULATED_DIAL_FAILURES

        prepared = attempt.prepared
        options = simulator.SimulationOptions(
            region=self._region, transfer_to=self._transfer_to, clock=self._clock
        )
        call = simulator.simulated_call(
            prepared.spec, prepared.scenario, options, info=prepared.info
        )
        attempt.call = call
        progress = Progress(self._store, call, self._heartbeat_interval, worker_id=SIMULATOR_ID)
        await progress.start()
        try:
            payload = await simulator.play(
                call, prepared.scenario, dial_failures=SIMULATED_DIAL_FAILURES
            )
        except Exception:  # a defect: the call still ends, as failed, and is settled
            call.log.exception("simulated_call.error")
            payload = call.finish("error")
        finally:
            await progress.stop()
        if not attempt.withdrawn:
            await self._finish(call, payload)

    async def _finish(self, call: Call, payload: Payload) -> None:
        failure = call.dial_failure
        sip_status = failure.sip_status if failure else None
        retryable = failure.retryable if failure else None
        for attempt in range(1, FINISH_ATTEMPTS + 1):
            try:
                await self._store.call_finished(payload, sip_status=sip_status, retryable=retryable)
            except Exception as exc:
                log.error(
                    "payload.store_failed",
                    call_id=payload.call_id,
                    attempt=attempt,
                    error=type(exc).__name__,
                )
                if attempt < FINISH_ATTEMPTS:
                    await asyncio.sleep(attempt)
                continue
            log.info(
                "simulated_call.finished",
                call_id=payload.call_id,
                status=payload.status,
                sip_status=sip_status,
            )
            return
        log.error("payload.not_stored", call_id=payload.call_id)
