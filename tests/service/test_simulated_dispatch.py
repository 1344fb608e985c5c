"""``intake serve --simulate``'s dispatcher on a real store, both databases: simulated calls
write what a worker writes, with the call's own id, room and metadata."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from queued_calls import queue_call, statuses
from sqlalchemy import select

from flows.engine.payload import Payload
from flows.spec.catalog import FlowCatalog
from service.scheduler.clock import SimulatedClock
from service.scheduler.dispatch import Dispatch, DispatchError
from service.scheduler.simulated import (
    SimulatedCalleeError,
    SimulatedDispatcher,
    simulated_callee,
)
from service.store import CallStore
from service.store.schema import CANCELLED, QUEUED, call_steps, calls

ROOT = Path(__file__).resolve().parents[2]
CALLEE = "+14155550123"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)

HAPPY = {
    "metadata": {"source": "script", "ticket": "from the script"},
    "answers": {
        "welcome": "sure",
        "customer_identification.customer_full_name": "this is john doe",
        "customer_identification.service_order_number": "three three four",
        "service_type.service_type": "plumbing",
        "satisfaction.rating": "four",
        "recommendation.nps": "nine",
        "resolution.issue_resolved": "yes",
        "comments.comments": "quick and friendly",
    },
}


def job(
    call_id: str = "call_01SIMULATED",
    simulate: dict[str, Any] | None = None,
    *,
    attempt: int = 1,
    flow: str = "customer_feedback",
) -> Dispatch:
    return Dispatch(
        call_id=call_id,
        attempt=attempt,
        room=f"{call_id.lower()}-{attempt}",
        to=CALLEE,
        from_="+18005550100",
        flow=flow,
        metadata={"ticket": "T-1"},
        simulate=simulate,
    )


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[CallStore]:
    async with await CallStore.open(store_url, clock=SimulatedClock(START, 60)) as opened:
        yield opened


@pytest.fixture
async def dispatcher(store: CallStore) -> AsyncIterator[SimulatedDispatcher]:
    simulated = SimulatedDispatcher(
        store,
        FlowCatalog(),
        region="US",
        transfer_to="+14155550999",
        clock=SimulatedClock(START, 60),
    )
    yield simulated
    await simulated.aclose()


async def finished(store: CallStore, call_id: str, timeout: float = 30) -> Payload:
    """The stored payload once the simulated call has ended (the first call imports
    livekit-agents, about two seconds)."""
    async with asyncio.timeout(timeout):
        while (payload := await store.get_payload(call_id)) is None:
            await asyncio.sleep(0.02)
    return payload


async def row(store: CallStore, call_id: str) -> Any:
    async with store._engine.connect() as conn:
        result = await conn.execute(select(calls).where(calls.c.call_id == call_id))
        return result.one_or_none()


async def steps(store: CallStore, call_id: str) -> list[str]:
    async with store._engine.connect() as conn:
        result = await conn.execute(
            select(call_steps.c.step_id).where(call_steps.c.call_id == call_id)
        )
        return sorted(result.scalars())


async def test_an_answered_call_is_the_calls_own_with_the_scripted_answers(
    store: CallStore, dispatcher: SimulatedDispatcher
) -> None:
    dispatch = job(simulate=HAPPY)
    await dispatcher.dispatch(dispatch)
    payload = await finished(store, dispatch.call_id)
    assert (payload.call_id, payload.room) == (dispatch.call_id, dispatch.room)
    assert (payload.direction, payload.from_, payload.to) == ("outbound", "+18005550100", CALLEE)
    assert payload.metadata == {"ticket": "T-1", "source": "script"}  # the call's keys win
    assert (payload.status, payload.ended_reason) == ("completed", "completed")
    assert payload.results["customer_identification"] == {
        "customer_full_name": "John Doe",
        "service_order_number": "334",
    }
    assert payload.results["satisfaction"] == {"rating": 4}
    assert payload.job_id.startswith("AJ_") and payload.room_id.startswith("RM_")
    assert payload.started_at.startswith("2026-03-02T15:0")  # the simulated clock's time
    stored = await row(store, dispatch.call_id)
    assert stored.state == "finished" and stored.worker_id == "simulator"
    assert stored.answered_at is not None and stored.answered_at >= START
    assert (stored.sip_status, stored.retryable) == (None, None)
    assert "satisfaction" in await steps(store, dispatch.call_id)  # progress, as a worker
    assert dispatcher.running == 0


@pytest.mark.parametrize(
    ("outcome", "sip_status", "retryable", "answered"),
    [
        ("busy", 486, True, False),
        ("no_answer", None, True, False),
        ("failed", 503, True, False),
        ("voicemail", None, None, True),  # a machine picked up: the dial connected
    ],
)
async def test_unanswered_outcomes_carry_what_a_real_dial_would(
    store: CallStore,
    dispatcher: SimulatedDispatcher,
    outcome: str,
    sip_status: int | None,
    retryable: bool | None,
    answered: bool,
) -> None:
    dispatch = job(simulate={"outcome": outcome})
    await dispatcher.dispatch(dispatch)
    payload = await finished(store, dispatch.call_id)
    assert payload.status == outcome
    assert all(value is None for value in payload.results["satisfaction"].values())
    stored = await row(store, dispatch.call_id)
    assert (stored.sip_status, stored.retryable) == (sip_status, retryable)
    assert (stored.answered_at is not None) is answered


async def test_without_a_script_the_callee_answers_and_stays_silent(
    store: CallStore, dispatcher: SimulatedDispatcher
) -> None:
    dispatch = job(simulate=None)
    await dispatcher.dispatch(dispatch)
    payload = await finished(store, dispatch.call_id)
    assert (payload.status, payload.ended_reason) == ("incomplete", "no_input")
    assert payload.metadata == {"ticket": "T-1"}
    stored = await row(store, dispatch.call_id)
    assert stored.answered_at is not None and stored.sip_status is None


async def test_a_callee_who_asks_not_to_be_called_is_listed_and_their_queued_calls_cancelled(
    store: CallStore, dispatcher: SimulatedDispatcher
) -> None:
    await queue_call(store, "call_later_same", QUEUED, to=CALLEE)
    await queue_call(store, "call_later_other", QUEUED, to="+14155550199")
    dispatch = job(simulate={"answers": {"welcome": "no. Stop calling me."}})
    await dispatcher.dispatch(dispatch)
    payload = await finished(store, dispatch.call_id)
    assert (payload.status, payload.ended_reason) == ("declined", "declined")
    assert await store.dnc.contains(CALLEE)
    assert await statuses(store) == {"call_later_same": CANCELLED, "call_later_other": QUEUED}


class Gate:
    """The store, except that the start of the calls in ``held`` waits until ``release``:
    such a call is caught mid-run, its payload not stored yet."""

    def __init__(self, store: CallStore, *held: str) -> None:
        self.store, self.held = store, set(held)
        self.entered = asyncio.Event()
        self._open = asyncio.Event()
        self.finished: list[str] = []

    def release(self) -> None:
        self._open.set()

    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None:
        if snapshot.call_id in self.held:
            self.entered.set()
            await self._open.wait()
        await self.store.call_started(snapshot, worker_id=worker_id)

    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None:
        await self.store.step_completed(call_id, step_id, snapshot)

    async def heartbeat(self, call_id: str) -> None:
        await self.store.heartbeat(call_id)

    async def call_answered(self, call_id: str) -> None:
        await self.store.call_answered(call_id)

    async def do_not_call(self, number: str, *, call_id: str) -> None:
        await self.store.do_not_call(number, call_id=call_id)

    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None:
        self.finished.append(payload.call_id)
        await self.store.call_finished(payload, sip_status=sip_status, retryable=retryable)


async def test_withdraw_cancels_a_call_not_started_yet(
    store: CallStore, dispatcher: SimulatedDispatcher
) -> None:
    dispatch = job(simulate=HAPPY)
    await dispatcher.dispatch(dispatch)
    assert dispatcher.running == 1
    await dispatcher.withdraw(dispatch)
    assert dispatcher.running == 0
    await asyncio.sleep(0.1)
    assert await row(store, dispatch.call_id) is None  # nothing was written
    await dispatcher.withdraw(dispatch)  # again, or for a call never dispatched: no-op
    await dispatcher.withdraw(job("call_01NEVER"))


async def test_withdraw_stops_a_running_call_and_no_other(store: CallStore) -> None:
    gate = Gate(store, "call_01FIRST")
    simulated = SimulatedDispatcher(
        gate, FlowCatalog(), region="US", transfer_to=None, clock=SimulatedClock(START, 60)
    )
    first, second = job("call_01FIRST", HAPPY), job("call_01SECOND", HAPPY)
    await simulated.dispatch(first)
    await simulated.dispatch(first)  # the scheduler repeating itself: one call
    await simulated.dispatch(second)
    assert simulated.running == 2
    await asyncio.wait_for(gate.entered.wait(), 30)  # the first is under way
    withdrawing = asyncio.create_task(simulated.withdraw(first))
    await asyncio.sleep(0.05)
    gate.release()
    await asyncio.wait_for(withdrawing, 10)
    await finished(store, second.call_id)  # the other call carried on to its end
    await asyncio.wait_for(simulated.aclose(), 10)
    assert simulated.running == 0
    assert gate.finished == [second.call_id]  # the withdrawn call's payload is not stored
    assert await store.get_payload(first.call_id) is None


async def test_aclose_stops_every_call_under_way(store: CallStore) -> None:
    held = [f"call_01HELD{n}" for n in range(3)]
    gate = Gate(store, *held)
    simulated = SimulatedDispatcher(
        gate, FlowCatalog(), region="US", transfer_to=None, clock=SimulatedClock(START, 60)
    )
    for call_id in held:
        await simulated.dispatch(job(call_id, HAPPY))
    await asyncio.wait_for(gate.entered.wait(), 30)
    closing = asyncio.create_task(simulated.aclose())
    await asyncio.sleep(0.05)
    gate.release()
    await asyncio.wait_for(closing, 10)
    assert simulated.running == 0 and gate.finished == []


@pytest.mark.parametrize(
    ("simulate", "flow", "message"),
    [
        ({"to": "+14155550100"}, "customer_feedback", "simulate.to: comes from the call"),
        ({"answers": {"nope": "x"}}, "customer_feedback", "simulate.answers.nope"),
        ({"outcome": "exploded"}, "customer_feedback", "simulate.outcome"),
        (None, "no_such_flow", "flow cannot be loaded"),
    ],
)
async def test_a_call_that_cannot_be_simulated_is_refused_for_good(
    dispatcher: SimulatedDispatcher, simulate: dict[str, Any] | None, flow: str, message: str
) -> None:
    with pytest.raises(DispatchError, match=message) as raised:
        await dispatcher.dispatch(job(simulate=simulate, flow=flow))
    assert raised.value.retryable is False
    assert dispatcher.running == 0


@pytest.mark.parametrize("key", ["flow", "direction", "from", "to"])
def test_the_callee_script_refuses_what_comes_from_the_call(key: str) -> None:
    with pytest.raises(SimulatedCalleeError, match=rf"^simulate\.{key}: comes from the call"):
        simulated_callee({key: "x", "answers": {}})


def test_the_callee_script_names_the_bad_key_in_one_line(catalog: FlowCatalog) -> None:
    spec = catalog.load("customer_feedback")
    cases = {
        "simulate.answrs: unknown key": {"answrs": {}},
        "simulate.outcome: Input should be": {"outcome": "maybe"},
        "simulate.answers.welcom: the flow customer_feedback asks no such question": {
            "answers": {"welcom": "yes"}
        },
        "simulate.transfer.to: not a valid phone number": {"transfer": {"to": "12"}},
        "simulate: expected an object": ["answers"],
    }
    for message, script in cases.items():
        with pytest.raises(SimulatedCalleeError) as raised:
            simulated_callee(script, spec=spec)  # type: ignore[arg-type]
        assert str(raised.value).startswith(message), str(raised.value)
        assert "\n" not in str(raised.value)


def test_the_callee_script_parses_like_a_scenario(catalog: FlowCatalog) -> None:
    spec = catalog.load("customer_feedback")
    scenario = simulated_callee(
        {"outcome": "answered", "answers": {"welcome": True}, "transfer": {"to": "4155550999"}},
        spec=spec,
    )
    assert scenario.direction == "outbound" and scenario.answers["welcome"] == ["yes"]
    assert scenario.transfer is not None and scenario.transfer.to == "+14155550999"
    silent = simulated_callee(None)
    assert (silent.outcome, silent.answers, silent.direction) == ("answered", {}, "outbound")


def test_importing_the_simulated_dispatcher_does_not_load_livekit_agents() -> None:
    """``intake serve`` imports it whether or not it simulates; validating a script at
    request time must not load livekit-agents either."""
    code = (
        "import sys, json\n"
        "from service.scheduler.simulated import SimulatedDispatcher, simulated_callee\n"
        "from flows.spec.catalog import FlowCatalog\n"
        "simulated_callee({'answers': {'welcome': 'yes'}},"
        " spec=FlowCatalog().load('customer_feedback'))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('livekit.agents'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
