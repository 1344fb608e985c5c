"""The production model path: livekit-plugins-openai, over HTTP and SSE, driving our tools.

A local server speaks OpenAI's streaming Chat Completions and plays a scripted model: it
reads the request's last message and tool list and answers the way a model would, with
tool calls streamed in pieces. The plugin parses them, the session runs the tools, the
tools validate, and a built-in flow completes to the contract's payload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import Reply, ScriptedOpenAIServer
from livekit.agents.llm import FallbackAdapter
from livekit.plugins import openai

from flows.agent.offline import OfflineLLM, decide
from flows.engine.call import Call
from flows.engine.collector import Collector
from flows.spec.catalog import FlowCatalog
from flows.testing.callers import ScenarioCaller, ScriptedTransferer
from flows.testing.runner import prepare
from flows.testing.scenario import Scenario
from flows.testing.simulator import SimulationOptions, call_info, run_call

ROOT = Path(__file__).resolve().parents[2]


def plays_a_model(collector: Collector) -> Any:
    """Answer like a model that follows the tools: route the caller's last words."""

    def respond(body: dict[str, Any]) -> Reply:
        last = body["messages"][-1]
        tools = {t["function"]["name"] for t in body.get("tools", [])}
        words = last.get("content") if last["role"] == "user" else None
        if isinstance(words, list):  # content parts
            words = " ".join(part.get("text", "") for part in words)
        decision = decide(collector, words, tools)
        if decision.tool:
            return Reply(tool_calls=[(decision.tool, decision.arguments)])
        return Reply(text=decision.say or "")

    return respond


@pytest.fixture
async def server() -> AsyncIterator[ScriptedOpenAIServer]:
    async with ScriptedOpenAIServer() as scripted:
        yield scripted


def scenario_call(name: str) -> tuple[Call, Scenario]:
    prepared = prepare(
        ROOT / "examples" / "scenarios" / name, FlowCatalog(), SimulationOptions(), None
    )
    call = Call(prepared.spec, call_info(prepared.scenario), transferer=ScriptedTransferer())
    return call, prepared.scenario


async def test_openai_plugin_completes_patient_intake(server: ScriptedOpenAIServer) -> None:
    call, scenario = scenario_call("patient_intake/full_intake.yaml")
    server.script(plays_a_model(call.collector))
    model = openai.LLM(model="gpt-4.1-mini", base_url=server.base_url, api_key="test")
    try:
        payload = await run_call(call, ScenarioCaller(scenario), model=model)
    finally:
        await model.aclose()
    assert (payload.status, payload.ended_reason) == ("completed", "completed")
    assert payload.results["patient"] == {"full_name": "Jane Doe", "date_of_birth": "1980-03-05"}
    assert payload.results["medications"]["medications"] == [
        {"name": "lisinopril", "dosage": "ten milligrams"},
        {"name": "metformin", "dosage": "five hundred milligrams"},
    ]
    # the plugin really sent our tools and streamed tool calls back
    first_step = next(r for r in server.requests if r.get("tools"))
    names = {t["function"]["name"] for t in first_step["tools"]}
    assert {"record_full_name", "record_date_of_birth", "answer_yes_no"} <= names
    assert first_step["model"] == "gpt-4.1-mini" and first_step["stream"] is True


async def test_a_model_outage_falls_back_to_the_offline_engine(
    server: ScriptedOpenAIServer,
) -> None:
    call, scenario = scenario_call("customer_feedback/happy_path.yaml")
    server.script(plays_a_model(call.collector))
    server.fail_next(10_000, status=503)  # the model is down for the whole call
    model = openai.LLM(model="gpt-4.1-mini", base_url=server.base_url, api_key="test")
    chain = FallbackAdapter([model, OfflineLLM(call.collector)], attempt_timeout=2.0)
    try:
        payload = await run_call(call, ScenarioCaller(scenario), model=chain)
    finally:
        await chain.aclose()
        await model.aclose()  # the adapter does not close the models it wraps
    assert payload.status == "completed"
    assert payload.results["satisfaction"] == {"rating": 4}
    assert server.requests  # the cloud model was tried first
