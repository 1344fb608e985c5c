"""A call job under livekit's fake_job_context: the room is driven by the test (a SIP
participant with attributes joins, keys are pressed, the caller hangs up) and outbound
dials go through the real livekit-api client to a local server speaking LiveKit's Twirp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from calls import LiveCall, sip_participant
from fakes import livekit_sip as shapes
from fakes.livekit_server import FakeLiveKitServer
from fakes.livekit_sip import Unanswered
from fakes.livekit_sip_service import TransferScript
from fakes.twirp import TwirpError
from livekit import api, rtc
from livekit.agents import AgentSession, JobContext
from livekit.agents.llm import ChatMessage
from queued_calls import queue_call, statuses
from sqlalchemy import select

from flows.agent.root import IntakeAgent
from flows.engine.call import CallEnding
from flows.engine.outcomes import TransferOutcome
from flows.engine.payload import Payload
from flows.engine.ports import Dialer, Transferer
from flows.spec.catalog import FlowCatalog
from flows.testing.callers import ScriptedTransferer
from flows.testing.harness import fake_job
from service.job import JobPorts, run_call_job
from service.pipeline import offline_pipeline
from service.settings import EndpointSettings, Settings
from service.store import CallStore
from service.store.schema import CANCELLED, QUEUED, calls
from service.store.spool import SpoolEntry
from sip.dialing import LiveKitDialer
from sip.dispatch import InboundDispatch
from sip.line import Line, RoomLine
from sip.transfer import ColdTransferer

TRUNK = "ST_outbound"
CALLEE = "+14155550123"


@dataclass
class Recorded:
    """A CallRecorder that keeps everything in lists."""

    started: list[str] = field(default_factory=list)
    steps: list[tuple[str, str]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    listed: list[tuple[str, str]] = field(default_factory=list)  # do-not-call: (number, call_id)
    finished: list[tuple[Payload, int | None, bool | None]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # the writes, in the order they came

    async def call_started(self, snapshot: Payload, *, worker_id: str) -> None:
        self.started.append(snapshot.call_id)
        self.order.append("call_started")

    async def step_completed(self, call_id: str, step_id: str, snapshot: Payload) -> None:
        self.steps.append((call_id, step_id))

    async def heartbeat(self, call_id: str) -> None:
        pass

    async def call_answered(self, call_id: str) -> None:
        self.answered.append(call_id)
        self.order.append("call_answered")

    async def do_not_call(self, number: str, *, call_id: str) -> None:
        self.listed.append((number, call_id))
        self.order.append("do_not_call")

    async def call_finished(
        self, payload: Payload, *, sip_status: int | None = None, retryable: bool | None = None
    ) -> None:
        self.finished.append((payload, sip_status, retryable))
        self.order.append("call_finished")


@dataclass
class HungUp:
    """A Line that counts its hang-ups (RoomLine against the local server where it matters)."""

    count: int = 0

    async def hang_up(self) -> None:
        self.count += 1


@dataclass
class Spooled:
    """A PayloadSpool that keeps its entries in a dict (tests of the spool itself use the
    real one, ``service.store.Spool``, in a temporary directory)."""

    entries: dict[str, SpoolEntry] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)

    def write(self, entry: SpoolEntry) -> None:
        self.entries[entry.payload.call_id] = entry
        self.written.append(entry.payload.call_id)

    def remove(self, call_id: str) -> None:
        self.entries.pop(call_id, None)


@dataclass
class Harness:
    room: rtc.Room
    live: asyncio.Future[LiveCall] = field(default_factory=asyncio.Future)
    transferer: Transferer = field(default_factory=ScriptedTransferer)
    recorder: Any = field(default_factory=Recorded)
    line: Callable[[JobContext], Line] = field(default_factory=lambda: lambda _ctx: HungUp())
    shutdowns: list[str] = field(default_factory=list)  # the job context's shutdown reasons
    spool: Any = field(default_factory=Spooled)

    @property
    def delivered(self) -> list[Payload]:
        return [payload for payload, _, _ in self.recorder.finished]

    async def caller_joins(self, dialed: str = "+18005550100") -> LiveCall:
        """An inbound caller's SIP leg joins the room; returns the call once it runs."""
        self.room.emit("participant_connected", sip_participant(**{"sip.trunkPhoneNumber": dialed}))
        return await asyncio.wait_for(self.live, 5)

    def ports(self, settings: Settings, dialer: Callable[[JobContext], Dialer]) -> JobPorts:
        async def start_text(
            session: AgentSession[None], agent: IntakeAgent, ctx: JobContext, identity: str
        ) -> None:
            await session.start(agent)  # text mode: the test speaks for the caller
            self.live.set_result(LiveCall(agent.call, session, self.room))

        return JobPorts(
            settings=settings,
            catalog=FlowCatalog(),
            pipeline=offline_pipeline,
            dialer=dialer,
            transferer=lambda _ctx, _identity: self.transferer,
            start_session=start_text,
            recorder=self.recorder,
            line=self.line,
            spool=self.spool,
            amd=False,
        )


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "routes": {"+18005550100": "patient_intake"},
        "default_flow": "lead_qualification",
        "transfer_to": "+14155550999",
    }
    return Settings.model_validate(base | overrides)


@pytest.fixture
def dialer(lkapi: api.LiveKitAPI) -> Callable[[JobContext], Dialer]:
    return lambda _ctx: LiveKitDialer(lkapi, trunk=TRUNK, ringing_timeout=20)


@contextlib.asynccontextmanager
async def running_job(
    harness: Harness, ports: JobPorts, metadata: str = ""
) -> AsyncIterator[asyncio.Task[Payload | None]]:
    """The job running in a fake job context whose room the test drives."""
    async with fake_job(harness.room, metadata=metadata) as job:
        job._on_shutdown = harness.shutdowns.append  # a fake job's shutdown goes nowhere
        task = asyncio.create_task(run_call_job(job, ports))
        await asyncio.sleep(0.05)  # let the job reach its first wait before the room moves
        try:
            yield task
        finally:
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def result(task: asyncio.Task[Payload | None]) -> Payload | None:
    return await asyncio.wait_for(asyncio.shield(task), 10)


async def test_inbound_call_is_routed_by_the_dialed_number_and_keys_work() -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        harness.room.emit(
            "participant_connected",
            sip_participant(
                **{"sip.phoneNumber": "+14155550123", "sip.trunkPhoneNumber": "+18005550100"}
            ),
        )
        live = await asyncio.wait_for(harness.live, 5)
        assert live.call.spec.id == "patient_intake"
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")
        live.press("03051980")  # eight keys complete a date entry without '#'
        await live.asked("patient.date_of_birth")  # the read-back
        live.press("1")
        await live.asked("contact.phone")  # "is the number you're on now the best one?"
        harness.room.emit("participant_disconnected", sip_participant())
        payload = await result(task)
        assert payload is not None and harness.delivered == [payload]
        assert harness.spool.written == [payload.call_id] and harness.spool.entries == {}
        assert (payload.direction, payload.from_, payload.to) == (
            "inbound",
            "+14155550123",
            "+18005550100",
        )
        assert (payload.status, payload.ended_reason) == ("incomplete", "caller_hangup")
        assert payload.results["patient"] == {
            "full_name": "Jane Doe",
            "date_of_birth": "1980-03-05",
        }
        assert payload.fields["patient.date_of_birth"].source == "dtmf"


async def test_unknown_dialed_number_goes_to_the_default_flow() -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        harness.room.emit(
            "participant_connected", sip_participant(**{"sip.trunkPhoneNumber": "+18005550111"})
        )
        live = await asyncio.wait_for(harness.live, 5)
        assert live.call.spec.id == "lead_qualification"
        assert live.call.info.from_ is None  # a withheld caller id
        live.call.hangup()
        await result(task)


async def test_no_route_and_no_default_refuses_the_call() -> None:
    harness = Harness(rtc.Room())
    ports = harness.ports(settings(default_flow=None), lambda _ctx: _no_dial())
    async with running_job(harness, ports) as task:
        harness.room.emit(
            "participant_connected", sip_participant(**{"sip.trunkPhoneNumber": "+18005550111"})
        )
        assert await result(task) is None
        assert harness.delivered == []
    [reason] = harness.shutdowns  # the job ends with its call: no process left to drain
    assert reason.startswith("rejected: no flow for dialed number +18005550111")


async def test_a_provisioned_dispatch_rule_names_the_flow() -> None:
    # INTAKE_ROUTES says patient_intake for this number; the rule's dispatch says otherwise
    # and wins: the telephony file is the one place a number's flow is written.
    harness = Harness(rtc.Room())
    metadata = InboundDispatch(flow="customer_feedback").to_metadata()
    ports = harness.ports(settings(), lambda _ctx: _no_dial())
    async with running_job(harness, ports, metadata) as task:
        live = await harness.caller_joins("+18005550100")
        assert live.call.spec.id == "customer_feedback"
        assert live.call.info.direction == "inbound"
        live.call.hangup()
        await result(task)


def outbound(to: str = "+14155550123", flow: str = "customer_feedback") -> str:
    return json.dumps(
        {
            "call_id": "call_01TESTOUTBOUND",
            "to": to,
            "from": "+18005550100",
            "flow": flow,
            "metadata": {"ticket": "T-1"},
        }
    )


async def test_outbound_starts_the_session_then_dials_and_runs_the_flow(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    harness = Harness(rtc.Room(), transferer=ScriptedTransferer())
    async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
        live = await asyncio.wait_for(harness.live, 5)
        await live.asked("welcome")
        (dial,) = livekit.calls("CreateSIPParticipant")
        assert (dial.sip_trunk_id, dial.sip_call_to, dial.sip_number) == (
            TRUNK,
            "+14155550123",
            "+18005550100",
        )
        assert dial.wait_until_answered and dial.ringing_timeout.seconds == 20
        assert dial.participant_identity == "callee"
        await live.say("no thanks")
        payload = await result(task)
        assert payload is not None
        assert (payload.call_id, payload.status, payload.metadata) == (
            "call_01TESTOUTBOUND",
            "declined",
            {"ticket": "T-1"},
        )


@pytest.mark.parametrize(
    ("code", "status", "ended_reason", "retryable"),
    [
        (486, "busy", "busy", True),
        (600, "busy", "busy", True),
        (603, "no_answer", "no_answer", True),  # the callee rejected this call, not all calls
        (408, "no_answer", "no_answer", True),
        (480, "no_answer", "no_answer", True),
        (487, "no_answer", "no_answer", True),
        (404, "failed", "error", False),
        (410, "failed", "error", False),
        (484, "failed", "error", False),
        (604, "failed", "error", False),
        (403, "failed", "error", False),
        (429, "failed", "error", False),
        (607, "failed", "error", False),
        (500, "failed", "error", True),
        (503, "failed", "error", True),
    ],
)
async def test_sip_failures_become_outcomes(
    livekit: FakeLiveKitServer,
    dialer: Callable[[JobContext], Dialer],
    code: int,
    status: str,
    ended_reason: str,
    retryable: bool,
) -> None:
    livekit.fail_sip("+14155550123", code)
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
        live = await asyncio.wait_for(harness.live, 5)
        payload = await result(task)
        assert payload is not None and harness.delivered == [payload]
        assert (payload.status, payload.ended_reason) == (status, ended_reason)
        failure = live.call.dial_failure
        assert failure is not None and (failure.sip_status, failure.retryable) == (code, retryable)
        assert all(v is None for v in payload.results["satisfaction"].values())


def rings_out(server: FakeLiveKitServer) -> None:
    server.script_dial(CALLEE, Unanswered())


def rings_past_livekits_deadline(server: FakeLiveKitServer) -> None:
    server.script_dial(CALLEE, Unanswered())
    server.server_deadline = 0.1  # 80 s on the real server


def gets_no_final_response(server: FakeLiveKitServer) -> None:
    server.script_dial(CALLEE, shapes.transaction_timeout(1))


def has_no_such_trunk(server: FakeLiveKitServer) -> None:
    server.check_trunks = True  # and TRUNK was never created


def has_no_sip_service(server: FakeLiveKitServer) -> None:
    server.sip_service = False


@pytest.mark.parametrize(
    ("scene", "status", "retryable"),
    [
        (rings_out, "no_answer", True),
        (rings_past_livekits_deadline, "no_answer", True),
        (gets_no_final_response, "failed", True),
        (has_no_such_trunk, "failed", False),
        (has_no_sip_service, "failed", True),
    ],
)
async def test_failures_without_a_sip_status_become_outcomes(
    livekit: FakeLiveKitServer,
    lkapi: api.LiveKitAPI,
    scene: Callable[[FakeLiveKitServer], None],
    status: str,
    retryable: bool,
) -> None:
    scene(livekit)
    quick = LiveKitDialer(lkapi, trunk=TRUNK, ringing_timeout=0.2)
    harness = Harness(rtc.Room())
    async with running_job(
        harness, harness.ports(settings(), lambda _ctx: quick), outbound()
    ) as task:
        live = await asyncio.wait_for(harness.live, 5)
        payload = await result(task)
        assert payload is not None and harness.delivered == [payload]
        assert payload.status == status
        assert payload.ended_reason == ("no_answer" if status == "no_answer" else "error")
        failure = live.call.dial_failure
        assert failure is not None and (failure.sip_status, failure.retryable) == (None, retryable)
    assert [(sip, retry) for _, sip, retry in harness.recorder.finished] == [(None, retryable)]


async def test_an_invalid_number_is_not_dialed(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    harness = Harness(rtc.Room())
    ports = harness.ports(settings(), dialer)
    async with running_job(harness, ports, outbound(to="+1 555")) as task:
        payload = await result(task)
        assert payload is not None and (payload.status, payload.ended_reason) == ("failed", "error")
        assert livekit.calls("CreateSIPParticipant") == []


@pytest.mark.parametrize(
    "metadata",
    [
        "not json",
        json.dumps({"to": "+14155550123"}),
        json.dumps({"call_id": "x", "to": "1", "flow": "f"}),
    ],
)
async def test_malformed_job_metadata_is_rejected(metadata: str) -> None:
    harness = Harness(rtc.Room())
    async with running_job(
        harness, harness.ports(settings(), lambda _ctx: _no_dial()), metadata
    ) as task:
        assert await result(task) is None
    [reason] = harness.shutdowns
    assert reason.startswith("rejected: job metadata")


async def test_silence_reprompts_then_ends_with_no_input() -> None:
    harness = Harness(rtc.Room())
    quick = settings(voice={"no_input_timeout": 0.05})
    async with running_job(harness, harness.ports(quick, lambda _ctx: _no_dial())) as task:
        await harness.caller_joins()
        payload = await result(task)
        assert payload is not None
        assert (payload.status, payload.ended_reason) == ("incomplete", "no_input")
        assert payload.fields["patient.full_name"].attempts == 3


def _no_dial() -> Dialer:
    class NeverDials:
        async def dial(self, request: object) -> None:
            raise AssertionError("an inbound call dials no one")

    return NeverDials()


async def test_progress_and_payload_reach_the_store(tmp_path: Path) -> None:
    """The real store: each step is saved as it completes, the payload with its outbox."""
    endpoint = EndpointSettings.model_validate(
        {"url": "http://127.0.0.1:1/hook", "secrets": ["whsec_" + "A" * 32]}
    )
    store = await CallStore.open(f"sqlite+aiosqlite:///{tmp_path}/calls.db", endpoints=[endpoint])
    try:
        harness = Harness(rtc.Room(), recorder=store)
        async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
            live = await harness.caller_joins()
            await live.asked("patient.full_name")
            await live.say("jane doe")
            await live.asked("patient.date_of_birth")
            await live.say("march fifth nineteen eighty")
            await live.asked("patient.date_of_birth")
            await live.say("yes")
            await live.asked("contact.phone")
            call_id = live.call.info.call_id
            assert await store.get_payload(call_id) is None  # live: progress only

            def steps() -> list[str]:
                with sqlite3.connect(tmp_path / "calls.db") as db:
                    query = "select step_id from call_steps where call_id = ?"
                    return [step for (step,) in db.execute(query, (call_id,))]

            for _ in range(100):  # the step's write is in flight, in the background
                if steps():
                    break
                await asyncio.sleep(0.05)
            assert steps() == ["patient"]
            live.call.hangup()
            payload = await result(task)
        assert payload is not None
        stored = await store.get_payload(call_id)
        assert stored is not None and stored.results == payload.results
        assert stored.results["patient"]["date_of_birth"] == "1980-03-05"
        assert len(await store.outbox.of_call(call_id)) == 1  # one endpoint, one delivery
    finally:
        await store.close()


async def test_a_failed_dial_is_recorded_with_its_sip_status(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    livekit.fail_sip("+14155550123", 486)
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
        await result(task)
    assert [(p.status, sip, retry) for p, sip, retry in harness.recorder.finished] == [
        ("busy", 486, True)
    ]
    assert harness.recorder.answered == []  # nobody picked up


async def test_an_answered_outbound_call_is_recorded_as_answered_after_its_start(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
        live = await asyncio.wait_for(harness.live, 5)
        await live.asked("welcome")
        live.call.hangup()
        await result(task)
    recorder = harness.recorder
    assert recorder.answered == ["call_01TESTOUTBOUND"]
    assert recorder.order == ["call_started", "call_answered", "call_finished"]


async def test_an_inbound_call_has_no_answer_to_record() -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        live = await harness.caller_joins()
        await live.asked("patient.full_name")
        live.call.hangup()
        await result(task)
    assert harness.recorder.started and harness.recorder.answered == []


async def test_an_outbound_callee_who_asks_not_to_be_called_is_listed_at_once(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
        live = await asyncio.wait_for(harness.live, 5)
        await live.asked("welcome")
        with contextlib.suppress(CallEnding):
            await live.say("stop calling me")
        await live.ended()
        for _ in range(100):  # written in the background, before the job ends
            if harness.recorder.listed:
                break
            await asyncio.sleep(0.01)
        assert harness.recorder.listed == [(CALLEE, "call_01TESTOUTBOUND")]
        assert "call_finished" not in harness.recorder.order
        payload = await result(task)
    assert payload is not None
    assert (payload.status, payload.ended_reason) == ("declined", "declined")


async def test_an_inbound_caller_who_asks_is_listed_by_their_own_number() -> None:
    harness = Harness(rtc.Room())
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        harness.room.emit(
            "participant_connected",
            sip_participant(
                **{"sip.phoneNumber": "+14155550188", "sip.trunkPhoneNumber": "+18005550100"}
            ),
        )
        live = await asyncio.wait_for(harness.live, 5)
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")
        with contextlib.suppress(CallEnding):
            await live.say("and don't ever call me again")
        payload = await result(task)
    assert payload is not None
    assert (payload.status, payload.ended_reason) == ("incomplete", "declined")
    assert harness.recorder.listed == [("+14155550188", live.call.info.call_id)]


@dataclass
class ListingFailsTwice(Recorded):
    """A store that is down for the first two do-not-call writes."""

    failures: int = 2

    async def do_not_call(self, number: str, *, call_id: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError
        await super().do_not_call(number, call_id=call_id)


async def test_a_do_not_call_write_is_retried_and_never_stops_the_call(
    livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    harness = Harness(rtc.Room(), recorder=ListingFailsTwice())
    with structlog.testing.capture_logs() as logs:
        async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
            live = await asyncio.wait_for(harness.live, 5)
            await live.asked("welcome")
            with contextlib.suppress(CallEnding):
                await live.say("take me off your list")
            payload = await asyncio.wait_for(asyncio.shield(task), 15)
    assert payload is not None and payload.ended_reason == "declined"
    assert harness.recorder.listed == [(CALLEE, "call_01TESTOUTBOUND")]  # the third try
    failed = [e for e in logs if e["event"] == "store.write_failed"]
    assert [(e["write"], e["attempt"]) for e in failed] == [("do_not_call", 1), ("do_not_call", 2)]
    assert CALLEE not in repr(logs)  # the number is caller data: never logged


async def test_answers_and_requests_not_to_call_reach_the_store(
    store_url: str, livekit: FakeLiveKitServer, dialer: Callable[[JobContext], Dialer]
) -> None:
    """The real store, on both databases: answered_at is set while the call is live, the
    number goes on the list and the callee's other queued calls are cancelled."""
    async with await CallStore.open(store_url) as store:
        await queue_call(store, "call_queued_same", QUEUED, to=CALLEE)
        await queue_call(store, "call_queued_other", QUEUED, to="+14155550199")
        harness = Harness(rtc.Room(), recorder=store)
        async with running_job(harness, harness.ports(settings(), dialer), outbound()) as task:
            live = await asyncio.wait_for(harness.live, 5)
            await live.asked("welcome")
            await live.say("sure")
            await live.asked("customer_identification.customer_full_name")
            query = select(calls.c.state, calls.c.answered_at).where(
                calls.c.call_id == "call_01TESTOUTBOUND"
            )
            for _ in range(100):  # written in the background: give a loaded machine time
                async with store._engine.connect() as conn:
                    row = (await conn.execute(query)).one()
                if row.answered_at is not None:
                    break
                await asyncio.sleep(0.05)
            assert row.state == "live" and row.answered_at is not None
            with contextlib.suppress(CallEnding):
                await live.say("please remove my number from your list")
            payload = await result(task)
        assert payload is not None and payload.ended_reason == "declined"
        assert await store.dnc.contains(CALLEE)
        assert await statuses(store) == {
            "call_queued_same": CANCELLED,
            "call_queued_other": QUEUED,
        }


async def test_key_presses_keep_the_silence_timer_from_firing() -> None:
    """A slow typist: each key comes well after the no-input timeout would have fired."""
    harness = Harness(rtc.Room())
    slow = settings(voice={"no_input_timeout": 0.15, "inter_digit_timeout": 1.0})
    async with running_job(harness, harness.ports(slow, lambda _ctx: _no_dial())) as task:
        live = await harness.caller_joins()
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")
        for key in "0305198":
            live.press(key)
            await asyncio.sleep(0.1)  # < inter-digit timeout, and each gap < no-input timeout
        await asyncio.sleep(0.1)
        live.press("0")  # the eighth key completes the date
        await live.asked("patient.date_of_birth")  # its read-back, not "are you still there?"
        assert live.call.collector.pending is not None
        assert live.call.collector.pending.kind == "confirm"
        assert live.call.collector.fields["patient.date_of_birth"].attempts == 1
        live.call.hangup()
        await result(task)


async def caller_asks_for_a_person(harness: Harness) -> LiveCall:
    live = await harness.caller_joins()
    await live.asked("patient.full_name")
    with contextlib.suppress(CallEnding):  # the turn that ends the call surfaces it
        await live.say("jane doe, and can I talk to a real person please")
    return live


async def test_after_a_connected_warm_transfer_the_line_stays_up_until_someone_leaves(
    livekit: FakeLiveKitServer,
) -> None:
    lkapi = api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret)
    harness = Harness(rtc.Room(), transferer=ScriptedTransferer("connected", keeps_room=True))
    harness.line = lambda ctx: RoomLine(lkapi, ctx.job.room.name)
    try:
        async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
            live = await caller_asks_for_a_person(harness)
            await live.ended()
            for _ in range(50):  # the payload is stored at once, while the humans talk
                if harness.delivered:
                    break
                await asyncio.sleep(0.01)
            [payload] = harness.delivered
            assert (payload.status, payload.ended_reason) == ("transferred", "caller_request")
            await asyncio.sleep(0.2)
            assert not task.done() and livekit.calls("DeleteRoom") == []  # nobody hung up
            human = sip_participant("human-agent-sip")
            harness.room.emit("participant_disconnected", human)  # the human hangs up
            await result(task)
        (deleted,) = livekit.calls("DeleteRoom")  # now the caller is not left on a dead line
        assert deleted.room == "fake-room"
        assert harness.shutdowns == ["call ended"]
    finally:
        await lkapi.aclose()


@pytest.mark.parametrize("keeps_room", [False, True], ids=["cold", "warm_not_connected"])
async def test_the_line_is_hung_up_when_the_agent_is_done(keeps_room: bool) -> None:
    """A cold transfer hands the caller's SIP leg away; a warm one that failed ends the call."""
    outcome: TransferOutcome = "connected" if not keeps_room else "no_answer"
    harness = Harness(rtc.Room(), transferer=ScriptedTransferer(outcome, keeps_room=keeps_room))
    lines: list[HungUp] = []

    def line(_ctx: JobContext) -> HungUp:
        lines.append(HungUp())
        return lines[-1]

    harness.line = line
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        await caller_asks_for_a_person(harness)
        payload = await result(task)
    assert payload is not None and payload.transfer is not None
    assert payload.transfer.outcome == outcome
    assert [line.count for line in lines] == [1]


def refused_busy(transfer_id: str) -> TwirpError:
    return shapes.transfer_failure(486, transfer_id=transfer_id)


def refused_decline(transfer_id: str) -> TwirpError:
    return shapes.transfer_failure(603, transfer_id=transfer_id)


def refer_not_allowed(transfer_id: str) -> TwirpError:
    return shapes.transfer_failure(405, transfer_id=transfer_id, refer=True)


def rings_out_transfer(transfer_id: str) -> Unanswered:
    return Unanswered()


@pytest.mark.parametrize(
    ("script", "outcome"),
    [
        (None, "connected"),
        (shapes.transfer_call_ended, "failed"),  # a 200 that says the transfer failed
        (refused_busy, "no_answer"),
        (refused_decline, "declined"),
        (refer_not_allowed, "failed"),
        (rings_out_transfer, "no_answer"),
    ],
)
async def test_a_cold_transfer_reports_what_livekit_answered(
    livekit: FakeLiveKitServer,
    lkapi: api.LiveKitAPI,
    script: TransferScript | None,
    outcome: str,
) -> None:
    livekit.add_participant("fake-room", "sip_caller")  # the caller's SIP leg
    if script is not None:
        livekit.script_transfer(script)
    cold = ColdTransferer(
        lkapi, room_name="fake-room", participant_identity="sip_caller", ringing_timeout=0.2
    )
    harness = Harness(rtc.Room(), transferer=cold)
    async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
        await caller_asks_for_a_person(harness)
        payload = await result(task)
    assert payload is not None and payload.transfer is not None
    assert (payload.transfer.outcome, payload.transfer.reason) == (outcome, "caller_request")
    assert (payload.status == "transferred") == (outcome == "connected")
    (refer,) = livekit.calls("TransferSIPParticipant")
    assert refer.transfer_to == "tel:+14155550999"


async def test_a_call_past_its_maximum_duration_is_wrapped_up_politely() -> None:
    harness = Harness(rtc.Room())
    short = settings(voice={"max_call_duration": 0.5})
    async with running_job(harness, harness.ports(short, lambda _ctx: _no_dial())) as task:
        live = await harness.caller_joins()
        await live.asked("patient.full_name")
        await live.say("jane doe")
        await live.asked("patient.date_of_birth")  # ... and the caller takes their time
        payload = await result(task)
    assert payload is not None
    assert (payload.status, payload.ended_reason) == ("incomplete", "collection_failed")
    assert payload.results["patient"]["full_name"] == "Jane Doe"
    said = [
        i.text_content
        for i in live.session.history.items
        if isinstance(i, ChatMessage) and i.role == "assistant"
    ]
    assert "reached the time limit" in (said[-1] or "")


async def test_each_call_logs_its_metrics_once_under_fixed_keys() -> None:
    harness = Harness(rtc.Room())
    with structlog.testing.capture_logs() as logs:
        async with running_job(harness, harness.ports(settings(), lambda _ctx: _no_dial())) as task:
            live = await harness.caller_joins()
            await live.asked("patient.full_name")
            await live.say("jane doe")
            await live.asked("patient.date_of_birth")
            live.call.hangup()
            await result(task)
    [metrics] = [entry for entry in logs if entry["event"] == "call.metrics"]
    assert metrics["caller_turns"] == 1 and metrics["agent_turns"] >= 3
    assert metrics["llm_models"] == "intake/intake-offline"
    assert {"llm_ttft_p50_ms", "tts_ttfb_p50_ms", "reply_p50_ms", "stt_audio_s"} <= set(metrics)
    assert "jane" not in repr(metrics).lower()  # figures, never what was said


@pytest.mark.parametrize(
    ("metadata", "flow", "steps"),
    [
        # a valid call id, a number too long: the flow is known, every field is reported
        (
            {"call_id": "call_01J9ZX", "to": "+1" * 40, "flow": "customer_feedback"},
            "customer_feedback",
            True,
        ),
        # a key the API never sends
        (
            {"call_id": "call_01J9ZX", "to": "+14155550123", "flow": "customer_feedback", "x": 1},
            "customer_feedback",
            True,
        ),
        # a flow this worker does not have
        ({"call_id": "call_01J9ZX", "to": "+14155550123", "flow": "nope"}, "nope", False),
    ],
)
async def test_a_rejected_job_that_names_its_call_still_reports_it_failed(
    metadata: dict[str, object], flow: str, steps: bool
) -> None:
    harness = Harness(rtc.Room())
    async with running_job(
        harness, harness.ports(settings(), lambda _ctx: _no_dial()), json.dumps(metadata)
    ) as task:
        payload = await result(task)
    assert payload is not None
    assert (payload.call_id, payload.flow, payload.status) == ("call_01J9ZX", flow, "failed")
    assert payload.summary is not None and payload.summary.startswith("The call was not placed")
    assert bool(payload.results) is steps
    assert [(p.call_id, sip, retry) for p, sip, retry in harness.recorder.finished] == [
        ("call_01J9ZX", None, False)
    ]
    [reason] = harness.shutdowns
    assert reason.startswith("rejected:")
