"""No input: a caller who says nothing after a question is re-prompted, then let go.

livekit's ``user_away_timeout`` fires once and then waits for the caller to speak
again, so it cannot count repeated silences. This timer restarts every time the agent
finishes speaking and stops as soon as the caller speaks or presses a key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from livekit.agents import AgentSession
from livekit.agents.voice.events import AgentStateChangedEvent, UserStateChangedEvent


class SilenceWatch:
    def __init__(
        self, session: AgentSession[Any], on_silence: Callable[[], None], *, timeout: float
    ) -> None:
        self._on_silence = on_silence
        self._timeout = timeout
        self._timer: asyncio.TimerHandle | None = None
        self._user_speaking = False
        session.on("agent_state_changed", self._on_agent_state)
        session.on("user_state_changed", self._on_user_state)

    def _on_agent_state(self, event: AgentStateChangedEvent) -> None:
        if event.new_state == "listening" and not self._user_speaking:
            self._start()
        else:
            self.stop()

    def _on_user_state(self, event: UserStateChangedEvent) -> None:
        self._user_speaking = event.new_state == "speaking"
        if self._user_speaking:
            self.stop()

    def heard(self) -> None:
        """The caller did something the session does not see as speech (a key press)."""
        self.stop()

    def _start(self) -> None:
        self.stop()
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._on_silence()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
