"""An OpenAI-compatible Chat Completions server whose replies a test scripts.

It speaks what ``livekit-plugins-openai`` 1.8.9 sends and parses -- read from
``livekit/agents/inference/llm.py`` (``LLMStream._run`` / ``_parse_choice``, which the plugin's
``LLMStream`` inherits), ``livekit/plugins/openai/llm.py`` and the ``openai`` SDK's
``_streaming.py`` / ``types/chat/chat_completion_chunk.py``:

* ``POST {base_url}/chat/completions`` with ``Authorization: Bearer <key>`` and a JSON body
  carrying ``stream: true`` and ``stream_options: {"include_usage": true}``. The reply is
  ``text/event-stream``: ``data: <chat.completion.chunk JSON>\\n\\n`` events, then
  ``data: [DONE]``. The first chunk carries the assistant role, text follows a word per chunk,
  each tool call opens with its ``index``, ``id`` and ``function.name`` and then streams
  ``function.arguments`` a few characters at a time, the last choice chunk has the
  ``finish_reason`` ("tool_calls" or "stop"), and a usage chunk with empty ``choices`` comes
  before ``[DONE]`` when ``include_usage`` was asked for.
* ``GET {base_url}/models`` -- the plugin's prewarm request -- lists no models.
* Errors are ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status. The
  plugin builds the SDK client with ``max_retries=0``; it is the agents ``LLMStream`` that
  retries, up to ``APIConnectOptions.max_retry`` (default 3, first retry after 0.1 s, then
  every ``retry_interval`` = 2 s) on 5xx, 408, 429 and transport errors, never on other 4xx.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from fakes.local_http import LocalServer

ARGUMENT_PIECE = 7  # characters of tool-call arguments per chunk


@dataclass(frozen=True)
class Reply:
    """One scripted assistant turn: text and/or tool calls ``(name, arguments)`` -- arguments
    as JSON text, or a mapping to encode -- streamed after ``delay`` seconds (before the
    response starts, so it counts against the client's timeout)."""

    text: str = ""
    tool_calls: Sequence[tuple[str, str | Mapping[str, Any]]] = ()
    delay: float = 0.0


Responder = Callable[[dict[str, Any]], Reply]


class ScriptedOpenAIServer(LocalServer):
    """OpenAI's streaming Chat Completions on 127.0.0.1; every reply comes from the responder.

    ``requests`` holds every chat completion body received (parsed JSON), including the ones
    answered with a scripted failure, so a test can count the client's attempts.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._responder: Responder | None = None
        self._failures: deque[int] = deque()
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, for ``openai.LLM(base_url=...)``, while running."""
        return self.origin + "/v1"

    def script(self, responder: Responder) -> None:
        """Decide each reply from the request body (``messages``, ``tools``, ...). Should the
        responder raise, the request is answered 400 (not retried) naming the exception."""
        self._responder = responder

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` chat completion requests with an HTTP ``status`` error."""
        self._failures.extend([status] * n)

    async def _models(self, request: web.Request) -> web.Response:
        if (denied := _unauthorized(request)) is not None:
            return denied
        return web.json_response({"object": "list", "data": []})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        if (denied := _unauthorized(request)) is not None:
            return denied
        body: dict[str, Any] = await request.json()
        self.requests.append(body)
        if self._failures:
            status = self._failures.popleft()
            kind = "server_error" if status >= 500 else "invalid_request_error"
            return _error(status, f"scripted failure (HTTP {status})", kind)
        if not body.get("stream"):
            return _error(400, "this fake only streams: send stream=true")
        if self._responder is None:
            return _error(400, "ScriptedOpenAIServer: no responder scripted")
        try:
            reply = self._responder(body)
        except Exception as e:
            return _error(400, f"ScriptedOpenAIServer responder failed: {e!r}")
        await asyncio.sleep(reply.delay)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-request-id": _new_id("req_")}
        )
        await response.prepare(request)
        for chunk in _chunks(body, reply):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _chunks(body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of one streamed reply, in the API's order."""
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    head = {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "system_fingerprint": "fp_scripted",
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**head, "choices": [choice]} | ({"usage": None} if with_usage else {})

    yield chunk({"role": "assistant", "content": "" if reply.text else None, "refusal": None})
    pieces = re.findall(r"\S+\s*|\s+", reply.text)
    yield from (chunk({"content": piece}) for piece in pieces)
    generated = len(pieces)  # chunks stand in for tokens in the usage figures
    for index, (name, arguments) in enumerate(reply.tool_calls):
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call = {"index": index, "id": _new_id("call_"), "type": "function"}
        yield chunk({"tool_calls": [call | {"function": {"name": name, "arguments": ""}}]})
        for start in range(0, len(text), ARGUMENT_PIECE):
            piece = text[start : start + ARGUMENT_PIECE]
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            generated += 1
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if with_usage:
        prompt_tokens = len(json.dumps(body.get("messages", []))) // 4  # a rough estimate
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": generated,
            "total_tokens": prompt_tokens + generated,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        yield {**head, "choices": [], "usage": usage}


def _unauthorized(request: web.Request) -> web.Response | None:
    """OpenAI's answer to a request without bearer auth; any key passes."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    return _error(401, "You didn't provide an API key.")


def _error(status: int, message: str, kind: str = "invalid_request_error") -> web.Response:
    error = {"message": message, "type": kind, "param": None, "code": None}
    return web.json_response({"error": error}, status=status)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)
