"""One line of figures per call, from livekit's own metrics: latency per turn and usage.

livekit-agents 1.8 puts each turn's latencies on its ``ChatMessage.metrics`` (the
``metrics_collected`` event is deprecated) and sums usage per model in ``session.usage``.
The line carries numbers and model names under fixed keys, never what was said.
"""

from __future__ import annotations

import statistics
from typing import Any

from livekit.agents import AgentSession, llm
from livekit.agents.metrics import LLMModelUsage, STTModelUsage, TTSModelUsage
from livekit.agents.voice.events import ConversationItemAddedEvent

# ChatMessage.metrics key -> our name; seconds in, milliseconds out
_LATENCIES = {
    "llm_node_ttft": "llm_ttft",
    "tts_node_ttfb": "tts_ttfb",
    "e2e_latency": "reply",
    "transcription_delay": "stt_delay",
    "end_of_turn_delay": "end_of_turn",
}


class CallMetrics:
    def __init__(self, session: AgentSession[Any]) -> None:
        self._session = session
        self._latencies: dict[str, list[float]] = {name: [] for name in _LATENCIES.values()}
        self._turns = {"user": 0, "assistant": 0}
        session.on("conversation_item_added", self._on_item)

    def _on_item(self, event: ConversationItemAddedEvent) -> None:
        item = event.item
        if not isinstance(item, llm.ChatMessage) or item.role not in self._turns:
            return
        self._turns[item.role] += 1
        report: dict[str, Any] = dict(item.metrics)
        for key, name in _LATENCIES.items():
            if isinstance(value := report.get(key), int | float):
                self._latencies[name].append(float(value))

    def summary(self) -> dict[str, object]:
        figures: dict[str, object] = {
            "caller_turns": self._turns["user"],
            "agent_turns": self._turns["assistant"],
        }
        for name, values in self._latencies.items():
            figures[f"{name}_p50_ms"] = _ms(statistics.median(values)) if values else None
            figures[f"{name}_max_ms"] = _ms(max(values)) if values else None
        figures.update(_usage(self._session))
        return figures


def _usage(session: AgentSession[Any]) -> dict[str, object]:
    llms, stts, ttss = [], [], []
    for usage in session.usage.model_usage:
        if isinstance(usage, LLMModelUsage):
            llms.append(usage)
        elif isinstance(usage, STTModelUsage):
            stts.append(usage)
        elif isinstance(usage, TTSModelUsage):
            ttss.append(usage)
    return {
        "llm_models": ",".join(f"{u.provider}/{u.model}" for u in llms) or None,
        "llm_input_tokens": sum(u.input_tokens for u in llms),
        "llm_output_tokens": sum(u.output_tokens for u in llms),
        "stt_models": ",".join(f"{u.provider}/{u.model}" for u in stts) or None,
        "stt_audio_s": round(sum(u.audio_duration for u in stts), 1),
        "tts_models": ",".join(f"{u.provider}/{u.model}" for u in ttss) or None,
        "tts_characters": sum(u.characters_count for u in ttss),
        "tts_audio_s": round(sum(u.audio_duration for u in ttss), 1),
    }


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
