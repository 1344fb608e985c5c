"""The root agent of a call: welcome, the compiled steps, then the ending that fits.

Every way a call ends passes through ``_end``: goodbye, declined (a "no" to the welcome
question, or "don't call me again" at any point), no input, or a transfer (with the safety
message first for an emergency) and its fallback.
"""

from __future__ import annotations

from livekit.agents import Agent

from flows.agent.compiler import compile_flow
from flows.agent.instructions import welcome_instructions
from flows.agent.tasks import WelcomeTask
from flows.engine.call import Call, CallEnding
from flows.engine.outcomes import EndedReason
from flows.engine.record import WELCOME

NO_INPUT_GOODBYE = "I haven't heard anything, so I'll end the call now. Goodbye."
GOODBYE = "Goodbye."
TIME_UP_GOODBYE = (
    "I'm sorry, we've reached the time limit for this call. Someone from our team will "
    "follow up with you. Goodbye."
)
NO_MORE_CALLS_GOODBYE = "Understood, we won't call you again. Goodbye."
ERROR_GOODBYE = "I'm sorry, something went wrong on our side. Someone will call you back. Goodbye."


class IntakeAgent(Agent):
    def __init__(self, call: Call) -> None:
        super().__init__(instructions=welcome_instructions(call.spec))
        self.call = call

    async def on_enter(self) -> None:
        call = self.call
        try:
            await call.answered.wait()
            if call.ended:  # never answered: busy, no answer, voicemail
                return
            await self.session.say(call.spec.welcome.message)
            if call.spec.welcome.question:
                await WelcomeTask(call)
                call.step_completed(WELCOME)
            await compile_flow(call)
            call.collection_done = True
            reason: EndedReason = "collection_failed" if call.required_missing() else "completed"
            await self._say(call.spec.ending.message)
            call.finish(reason)
        except CallEnding as ending:
            await self._end(ending)
        except Exception:
            if call.ended:  # the caller hung up; the session is closing under us
                return
            call.log.exception("call.error")
            await self._end(CallEnding("error"))
        finally:
            if not call.ended:
                call.finish("error")
            self.session.shutdown()

    async def _end(self, ending: CallEnding) -> None:
        call, reason = self.call, ending.reason
        if call.ended:
            return
        if call.do_not_call:
            await self._say(NO_MORE_CALLS_GOODBYE)
            call.finish("declined", status=call.do_not_call_status())
            return
        if call.out_of_time:
            await self._say(TIME_UP_GOODBYE)
            call.finish("collection_failed" if call.required_missing() else "completed")
            return
        if reason == "declined":
            await self._say(call.spec.welcome.declined_message)
            call.finish("declined")
            return
        if reason == "no_input":
            await self._say(NO_INPUT_GOODBYE)
            call.finish("no_input")
            return
        emergency = call.spec.emergency if reason == "emergency" else None
        if emergency is not None:
            await self._say(emergency.message)
        transfer_reason = call.transfer_reason(reason)
        transfer = call.spec.transfer
        if transfer_reason is not None and transfer is not None:
            # Only now, with a destination to try, does the caller hear they are connected.
            await self._say(emergency.connecting_message if emergency else transfer.message)
            if await call.transfer_to_human(transfer_reason) == "connected":
                call.finish(reason)
                return
            await self._say(transfer.fallback_message)
        elif reason == "error":
            await self._say(ERROR_GOODBYE)
        elif emergency is not None:
            await self._say(GOODBYE)
        call.finish(reason)

    async def _say(self, text: str) -> None:
        """Endings are said in full: a caller's noise must not cut off a safety message,
        a transfer announcement or a goodbye."""
        if not self.call.ended:
            await self.session.say(text, allow_interruptions=False)
