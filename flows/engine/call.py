"""One call in progress: its collector, its ports, how it ends, and its single payload.

Shared by the live worker and the simulator. Inputs that do not come through the model
(keypad entries, silence, a hang-up) arrive here and go to the task that is asking.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from flows.engine.answers import AnswerContext, speak_value
from flows.engine.clock import Clock, utc_now
from flows.engine.collector import Collector
from flows.engine.intents import emergency_phrase
from flows.engine.json_types import JsonObject
from flows.engine.keypad import entry_length
from flows.engine.outcomes import CallStatus, DialFailure, Direction, EndedReason, TransferOutcome
from flows.engine.payload import (
    FieldReport,
    Payload,
    TransferReport,
    final_fields,
    template_summary,
    timestamp,
)
from flows.engine.ports import Transferer, TransferRequest
from flows.engine.record import WELCOME
from flows.spec.flow import ALL_TRANSFER_REASONS, FlowSpec, TransferReason

log = structlog.get_logger("intake.call")


@dataclass(frozen=True)
class CallInfo:
    """Who and where: parsed from job metadata or a scenario before the call starts."""

    call_id: str
    direction: Direction
    from_: str | None
    to: str | None
    job_id: str
    room_id: str
    room: str
    metadata: JsonObject = field(default_factory=dict)

    @property
    def call_number(self) -> str | None:
        """The number of this call on the caller's side: theirs inbound, the dialed one outbound."""
        return self.from_ if self.direction == "inbound" else self.to


class CallEnding(Exception):
    """Unwinds the running tasks to the root agent, which ends the call for ``reason``."""

    def __init__(self, reason: EndedReason) -> None:
        super().__init__(reason)
        self.reason = reason


class InputTarget(Protocol):
    """The task currently asking; it takes inputs that bypass the model."""

    def take_keypad(self, digits: str) -> None: ...
    def take_silence(self) -> None: ...
    def end(self, ending: CallEnding) -> None: ...


_STATUS_BY_REASON: dict[EndedReason, CallStatus] = {
    "declined": "declined",
    "voicemail": "voicemail",
    "no_answer": "no_answer",
    "busy": "busy",
    "error": "failed",
}


class Call:
    def __init__(
        self,
        spec: FlowSpec,
        info: CallInfo,
        *,
        transferer: Transferer,
        region: str = "US",
        transfer_to: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.spec = spec
        self.info = info
        self.clock = clock
        self.started_at = clock()
        self.transferer = transferer
        self._transfer_to = transfer_to
        self.collector = Collector(
            spec,
            AnswerContext(region=region, today=self.started_at.date()),
            call_number=info.call_number,
            can_escalate=self.can_transfer,
        )
        self.active: InputTarget | None = None
        # The agent speaks only once someone is on the line: at once inbound, after the
        # callee answers (and is not a machine) outbound.
        self.answered = asyncio.Event()
        if info.direction == "inbound":
            self.answered.set()
        self.collection_done = False
        self.out_of_time = False  # the maximum call duration was reached: wrap up
        self.transfer: TransferReport | None = None
        self.dial_failure: DialFailure | None = None  # kept for the record: SIP status, retry
        self.payload: Payload | None = None
        self.picked_up = False  # an outbound callee answered (a person or a machine)
        self.do_not_call = False  # the callee asked not to be called again
        self._welcome_answered = spec.welcome.question is None
        self._declined_at_welcome = False
        self.on_finished: list[Callable[[Payload], None]] = []
        self.on_step_completed: list[Callable[[str], None]] = []
        self.on_picked_up: list[Callable[[], None]] = []
        self.on_do_not_call: list[Callable[[], None]] = []
        self.log = log.bind(call_id=info.call_id, flow=spec.id)

    # -- transfer ----------------------------------------------------------------------

    @property
    def transfer_destination(self) -> str | None:
        if self.spec.transfer is None:
            return None
        return self.spec.transfer.destination or self._transfer_to

    def can_transfer(self, reason: TransferReason) -> bool:
        transfer = self.spec.transfer
        return bool(transfer and reason in transfer.triggers and self.transfer_destination)

    def transfer_reason(self, reason: EndedReason) -> TransferReason | None:
        if reason not in ALL_TRANSFER_REASONS:  # the endings a person could take over
            return None
        return reason if self.can_transfer(reason) else None

    async def transfer_to_human(self, reason: TransferReason) -> TransferOutcome:
        destination = self.transfer_destination
        assert destination is not None
        self.log.info("transfer.started", reason=reason)
        request = TransferRequest(to=destination, reason=reason, briefing=self.briefing())
        try:
            outcome = await self.transferer.transfer(request)
        except Exception:
            self.log.exception("transfer.error", reason=reason)
            outcome = "failed"
        self.transfer = TransferReport(to=destination, reason=reason, outcome=outcome)
        self.log.info("transfer.finished", reason=reason, outcome=outcome)
        return outcome

    def briefing(self) -> str:
        """What the human hears first: the answers collected, sensitive ones left out."""
        lines = [f"Caller on the {self.spec.name} line."]
        for path, state in self.collector.fields.items():
            field_spec = self.spec.field(path)
            if state.status == "collected" and not field_spec.sensitive:
                lines.append(f"{field_spec.label}: {speak_value(field_spec, state.value)}.")
        return " ".join(lines)

    # -- inputs that bypass the model --------------------------------------------------

    def emergency(self, text: str) -> bool:
        emergency = self.spec.emergency
        return bool(emergency and emergency_phrase(text, emergency.phrases))

    def keypad(self, digits: str) -> None:
        if self.active is not None and self.payload is None:
            self.active.take_keypad(digits)

    def keypad_entry_length(self) -> int | None:
        """How many keys answer the pending question, so an entry can end without '#'."""
        question = self.collector.pending
        if question is None or question.kind == "offer":
            return None  # an offer takes 1/2 or a whole phone number
        if question.yes_no or question.target is None:
            return 1
        return entry_length(self.spec.answer_field(question.target))

    def silence(self) -> None:
        if self.active is not None and self.payload is None:
            self.active.take_silence()

    def time_up(self) -> None:
        """The call reached its maximum duration: the question being asked is dropped and
        the root agent wraps up (a task that starts later ends at once)."""
        if self.payload is not None:
            return
        self.out_of_time = True
        self.log.info("call.time_up")
        if self.active is not None:
            self.active.end(CallEnding("collection_failed"))

    def step_completed(self, step_id: str) -> None:
        if step_id == WELCOME:
            self._welcome_answered = True
        self.log.info("step.completed", step=step_id)
        for listener in list(self.on_step_completed):
            listener(step_id)

    def answered_by_callee(self) -> None:
        """The outbound dial connected: someone (or a machine) picked up. Listeners hear it
        once; whether the agent may speak is ``answered``, set separately."""
        if self.picked_up or self.payload is not None:
            return
        self.picked_up = True
        self.log.info("call.picked_up")
        for listener in list(self.on_picked_up):
            listener()

    def request_no_more_calls(self) -> None:
        """The callee said "don't call me again": recorded once, listeners told once (the
        worker puts the number on the do-not-call list). The caller's ending follows."""
        if self.do_not_call or self.payload is not None:
            return
        self.do_not_call = True
        self._declined_at_welcome = not self._welcome_answered
        self.log.info("call.do_not_call", at_welcome=self._declined_at_welcome)
        for listener in list(self.on_do_not_call):
            listener()

    def do_not_call_status(self) -> CallStatus:
        """A request not to be called at the welcome question declines the call; later, the
        status is the usual one: completed if every required field was collected."""
        if self._declined_at_welcome:
            return "declined"
        return "incomplete" if self.required_missing() else "completed"

    # -- the end -----------------------------------------------------------------------

    def hangup(self) -> Payload:
        """The caller hung up: the call ends at once with what it has (one who asked not to
        be called again and hung up before the goodbye still declined)."""
        if self.do_not_call:
            return self.finish("declined", status=self.do_not_call_status())
        return self.finish("completed" if self.collection_done else "caller_hangup")

    def finish(self, reason: EndedReason, *, status: CallStatus | None = None) -> Payload:
        """Seal the payload; the first ending wins, later ones return the same payload."""
        if self.payload is not None:
            return self.payload
        self.payload = self.snapshot(reason, status=status)
        self.active = None
        self.answered.set()  # nobody waits for an answer to a call that is over
        self.log.info("call.ended", status=self.payload.status, ended_reason=reason)
        for listener in list(self.on_finished):
            listener(self.payload)
        return self.payload

    def snapshot(
        self, reason: EndedReason = "error", *, status: CallStatus | None = None
    ) -> Payload:
        """The payload as it would be if the call ended now for ``reason`` (not sealed).

        Persisted as each step completes, so a call whose worker dies still delivers."""
        results, reports = final_fields(self.spec, self.collector.fields)
        if status is None:
            status = self.status_for(reason, reports)
        summary = None
        if self.spec.ending.summary:
            summary = template_summary(self.spec, self.info.direction, status, reports)
        return Payload(
            job_id=self.info.job_id,
            room_id=self.info.room_id,
            room=self.info.room,
            started_at=timestamp(self.started_at),
            ended_at=timestamp(self.clock()),
            summary=summary,
            results=results,
            call_id=self.info.call_id,
            flow=self.spec.id,
            flow_version=self.spec.version,
            direction=self.info.direction,
            from_=self.info.from_,
            to=self.info.to,
            status=status,
            ended_reason=reason,
            fields=reports,
            transfer=self.transfer,
            metadata=self.info.metadata,
        )

    def status_for(self, reason: EndedReason, reports: dict[str, FieldReport]) -> CallStatus:
        """CONTRACT 1's status rule: a connected transfer is ``transferred``; endings that
        are not about the fields (declined, unanswered, broken) have their own status;
        otherwise ``completed`` when no required field is missing, however the call ended
        (silence, a hang-up, a transfer that did not connect), else ``incomplete``."""
        if self.transfer is not None and self.transfer.outcome == "connected":
            return "transferred"
        if reason in _STATUS_BY_REASON:
            return _STATUS_BY_REASON[reason]
        missing = any(report.status == "missing" for report in reports.values())
        return "incomplete" if missing else "completed"

    @property
    def ended(self) -> bool:
        return self.payload is not None

    def required_missing(self) -> bool:
        _, reports = final_fields(self.spec, self.collector.fields)
        return any(report.status == "missing" for report in reports.values())
