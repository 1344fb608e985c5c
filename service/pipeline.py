"""The voice pipeline of a live call, from settings: Deepgram STT, OpenAI LLM, TTS, Silero VAD.

The offline engine is the last entry of the LLM ``FallbackAdapter``: if the model is
down mid-call, the caller keeps being asked and recorded instead of being dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.llm import LLM, FallbackAdapter
from livekit.agents.stt import STT
from livekit.agents.tts import TTS
from livekit.agents.vad import VAD
from livekit.agents.voice.turn import TurnHandlingOptions

from flows.agent.offline import OfflineLLM
from flows.engine.collector import Collector
from flows.spec.fields import ChoiceField
from flows.spec.flow import FlowSpec
from service.errors import ConfigError
from service.settings import Settings


@dataclass
class Pipeline:
    stt: STT[Any] | None
    llm: LLM[Any]
    tts: TTS[Any] | None
    vad: VAD | None
    cloud_llm: LLM[Any] | None  # for answering-machine detection; None offline
    turn_handling: TurnHandlingOptions

    def session(self) -> AgentSession[None]:
        # SilenceWatch counts repeated silences; livekit's user_away fires only once.
        parts: dict[str, Any] = {"stt": self.stt, "tts": self.tts}
        return AgentSession[None](
            **{name: part for name, part in parts.items() if part is not None},
            llm=self.llm,
            vad=self.vad,
            turn_handling=self.turn_handling,
            user_away_timeout=None,
        )


def required_credentials(settings: Settings) -> list[tuple[str, object]]:
    """Every setting a live call needs, as (environment variable, value)."""
    needed: list[tuple[str, object]] = [
        ("INTAKE_LIVEKIT__URL", settings.livekit.url),
        ("INTAKE_LIVEKIT__API_KEY", settings.livekit.api_key),
        ("INTAKE_LIVEKIT__API_SECRET", settings.livekit.api_secret),
        ("INTAKE_OPENAI__API_KEY", settings.openai.api_key),
        ("INTAKE_DEEPGRAM__API_KEY", settings.deepgram.api_key),
    ]
    return needed


def check_credentials(settings: Settings) -> None:
    missing = [name for name, value in required_credentials(settings) if not value]
    if missing:
        raise ConfigError(f"{missing[0]} is not set; a live worker needs " + ", ".join(missing))


def telephony_turns(settings: Settings) -> TurnHandlingOptions:
    """Phone lines are slow and noisy: wait a little longer before answering, and
    ignore very short noises as interruptions."""
    return {
        "turn_detection": "vad",
        "endpointing": {
            "min_delay": settings.voice.min_endpointing_delay,
            "max_delay": settings.voice.max_endpointing_delay,
        },
        "interruption": {"min_duration": 0.6},
    }


def keyterms(spec: FlowSpec) -> list[str]:
    """Words this flow expects that a general model may miss: its choice options."""
    terms = {
        option.spoken
        for step in spec.steps
        for field in step.fields
        if isinstance(field, ChoiceField)
        for option in field.options
    }
    return sorted(terms)[:50]


def build_pipeline(settings: Settings, collector: Collector, vad_model: VAD | None) -> Pipeline:
    """Real plugins configured from settings (imported here: only live calls need them)."""
    from livekit.plugins import deepgram, openai

    check_credentials(settings)
    secret = settings.openai.api_key
    assert secret is not None and settings.deepgram.api_key is not None
    cloud = openai.LLM(
        model=settings.openai.model,
        api_key=secret.get_secret_value(),
        base_url=settings.openai.base_url or "https://api.openai.com/v1",
        temperature=0.2,
        parallel_tool_calls=False,
    )
    speech_to_text = deepgram.STT(
        model=settings.deepgram.model,
        language=settings.voice.language,
        api_key=settings.deepgram.api_key.get_secret_value(),
        smart_format=True,
        filler_words=True,
        keyterm=keyterms(collector.spec),
    )
    text_to_speech: TTS[Any]
    if settings.voice.tts == "deepgram":
        text_to_speech = deepgram.TTS(
            model=settings.deepgram.tts_model,
            api_key=settings.deepgram.api_key.get_secret_value(),
        )
    else:
        text_to_speech = openai.TTS(
            model=settings.openai.tts_model,
            voice=settings.openai.tts_voice,
            api_key=secret.get_secret_value(),
            base_url=settings.openai.base_url or "https://api.openai.com/v1",
        )
    return Pipeline(
        stt=speech_to_text,
        llm=FallbackAdapter([cloud, OfflineLLM(collector)], attempt_timeout=6.0),
        tts=text_to_speech,
        vad=vad_model,
        cloud_llm=cloud,
        turn_handling=telephony_turns(settings),
    )


def offline_pipeline(collector: Collector) -> Pipeline:
    """Text only, the offline engine as the model: simulations, tests, benchmarks."""
    return Pipeline(
        stt=None,
        llm=OfflineLLM(collector),
        tts=None,
        vad=None,
        cloud_llm=None,
        turn_handling={"turn_detection": "manual"},
    )
