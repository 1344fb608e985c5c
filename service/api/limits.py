"""Request bodies above the configured size are refused with 413 ``too_large``: at once when
Content-Length says so, otherwise as soon as the bytes read pass the limit (a chunked
upload is counted while it is read, never buffered whole first)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.errors import too_large

MULTIPART = "multipart/form-data"
FORM_OVERHEAD = 64 * 1024  # a CSV upload's other fields and multipart boundaries


class BodyTooLarge(HTTPException):
    """An HTTPException, so that FastAPI's body reading passes it on unchanged; ``refusal``
    is the answer where no exception handler runs (here, outside the app)."""

    def __init__(self, limit: int) -> None:
        self.refusal = too_large(f"the request body is larger than {limit} bytes")
        super().__init__(413, self.refusal.message)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app, self.json_bytes, self.upload_bytes = app, json_bytes, upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = headers.get("content-type", "").lower().startswith(MULTIPART)
        limit = self.upload_bytes + FORM_OVERHEAD if upload else self.json_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await BodyTooLarge(limit).refusal.response()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # read outside a route (none today): answer it here
            if started:
                raise
            await exc.refusal.response()(scope, receive, send)
