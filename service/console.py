"""``intake console``: the offline engine in a terminal, the person at the keyboard as caller."""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from flows.engine.call import Call
from flows.engine.payload import Payload
from flows.engine.record import Question
from flows.errors import ScenarioError, one_line_reason
from flows.spec.flow import FlowSpec
from flows.testing.callers import CallerAction, HangUp, ScriptedTransferer
from flows.testing.scenario import Keyed, Scenario, Silent, check_against
from flows.testing.simulator import SimulationOptions, call_info, run_call

HELP = "Type your answers. '#1234' keys digits, an empty line is silence, '/hangup' hangs up."


class TerminalCaller:
    def attach(self, call: Call) -> None:
        pass

    async def respond(self, question: Question) -> CallerAction:
        print("   you: ", end="", file=sys.stderr, flush=True)  # stdout carries the payload
        line: str = await asyncio.to_thread(sys.stdin.readline)
        if not line:  # end of input
            return HangUp()
        line = line.strip()
        if line == "/hangup":
            return HangUp()
        if not line:
            return Silent(silence=True)
        if line.startswith("#") and len(line) > 1:
            try:
                return Keyed(dtmf=line[1:])
            except ValidationError:
                print("  (keys are 0-9, * and #)", file=sys.stderr)
                return await self.respond(question)
        return line


def _show(speaker: str, text: str) -> None:
    if speaker == "agent":
        print(f" agent: {text}", file=sys.stderr)


async def run_console(
    spec: FlowSpec,
    options: SimulationOptions,
    direction: str,
    caller_number: str | None,
    called_number: str | None,
) -> Payload:
    fields = {"direction": direction, "from": caller_number, "to": called_number}
    try:
        scenario = Scenario.model_validate(fields)
    except ValidationError as exc:
        raise ScenarioError(one_line_reason(exc, where=lambda loc: f"--{loc[0]}")) from None
    scenario = check_against(scenario, spec, "console", options.region)
    call = Call(
        spec,
        call_info(scenario),
        transferer=ScriptedTransferer(),
        region=options.region,
        transfer_to=options.transfer_to,
    )
    print(HELP, file=sys.stderr)
    return await run_call(call, TerminalCaller(), transcript=_show)
