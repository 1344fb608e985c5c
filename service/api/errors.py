"""Every error the API answers has one shape: ``{"error": {"code", "message"}}``.

FastAPI's and Starlette's own answers (validation errors, unknown routes, wrong methods,
bodies that do not parse) are turned into that shape too; nobody sees ``{"detail": ...}``.
Messages are one line and never repeat what the client sent (it may be caller data).
"""

from __future__ import annotations

from typing import Any, Literal

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from flows.errors import dotted, one_line_reason
from service.errors import ServiceError
from service.store.errors import (
    ConflictError,
    DoNotCallError,
    NotFoundError,
    QuotaExceededError,
    StoreUnavailableError,
)

UNAUTHORIZED = "a valid API key is needed: Authorization: Bearer <key>"

ErrorCode = Literal[
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "invalid_request",
    "invalid_phone",
    "unknown_flow",
    "do_not_call",
    "conflict",
    "rate_limited",
    "too_large",
    "unavailable",
    "internal_error",
]
# Starlette's own HTTP errors: what they mean in this API
_BY_STATUS: dict[int, tuple[int, ErrorCode]] = {
    400: (422, "invalid_request"),  # a body that does not parse, as the contract says
    401: (401, "unauthorized"),
    404: (404, "not_found"),
    405: (405, "method_not_allowed"),
    413: (413, "too_large"),
    415: (422, "invalid_request"),
    422: (422, "invalid_request"),
}

log = structlog.get_logger("intake.api")


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(ServiceError):
    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> Response:
        """The answer; for where no exception handler runs (ASGI middleware)."""
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> Response:
    line = " ".join(message.split())
    body = ErrorBody(error=ErrorDetail(code=code, message=line)).model_dump_json()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def invalid(message: str, code: ErrorCode = "invalid_request") -> ApiError:
    return ApiError(422, code, message)


def too_large(message: str) -> ApiError:
    """413 ``too_large``: the message names the limit that was passed."""
    return ApiError(413, "too_large", message)


def validation_message(errors: list[Any]) -> str:
    """The first problem, where it is and what is wrong, without the value given."""
    if not errors:
        return "the request is invalid"
    if errors[0].get("type") == "json_invalid":
        return "the body is not valid JSON"
    return one_line_reason(errors, where=lambda loc: dotted(p for p in loc if p != "body"))


def parse_error(exc: ValidationError, prefix: tuple[str, ...] = ()) -> ApiError:
    errors = [dict(error, loc=(*prefix, *error["loc"])) for error in exc.errors()]
    return invalid(validation_message(errors))


def install(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def request_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_request", validation_message(list(exc.errors())))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status, code = _BY_STATUS.get(exc.status_code, (exc.status_code, "invalid_request"))
        headers = dict(exc.headers or {})
        if status == 405:  # Starlette names the methods of one route of the path only
            headers["Allow"] = ", ".join(_allowed(request))
        message = {
            401: UNAUTHORIZED,
            404: "no such resource",
            405: "this method is not allowed here",
            413: "the request body is too large",
        }.get(status, "the request is invalid")
        return error_response(status, code, message, headers)

    async def store_error(_request: Request, exc: Exception) -> Response:
        if isinstance(exc, DoNotCallError):
            return error_response(409, "do_not_call", str(exc))
        if isinstance(exc, ConflictError):
            return error_response(409, "conflict", str(exc))
        if isinstance(exc, NotFoundError):
            return error_response(404, "not_found", str(exc))
        if isinstance(exc, QuotaExceededError):
            retry = {"Retry-After": str(exc.retry_after)}
            return error_response(429, "rate_limited", str(exc), retry)
        log.warning("api.store_unavailable", error=str(exc))
        return error_response(503, "unavailable", "the store is unavailable", {"Retry-After": "5"})

    async def internal(_request: Request, exc: Exception) -> Response:
        log.exception("api.crashed", error=exc.__class__.__name__)
        return error_response(500, "internal_error", "internal error")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(HTTPException, http_error)
    for error in (
        DoNotCallError,
        ConflictError,
        NotFoundError,
        QuotaExceededError,
        StoreUnavailableError,
    ):
        app.add_exception_handler(error, store_error)
    app.add_exception_handler(Exception, internal)


def _allowed(request: Request) -> list[str]:
    def fits(method: str) -> bool:
        scope = dict(request.scope, method=method)
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.routes)

    return [method for method in ("DELETE", "GET", "HEAD", "POST", "PUT") if fits(method)]


# Documented on every route, so the OpenAPI schema describes what is really answered.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "No valid API key",
        404: "No such resource",
        409: "Conflicts with the stored state",
        413: "Too large",
        422: "Invalid request",
        429: "Quota used up; see Retry-After",
        503: "The store is unavailable",
    }
    documented: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": described[status]}
        for status in (401, 422, 503, *statuses)
    }
    if 429 in documented:
        seconds = {"schema": {"type": "integer"}, "description": "Seconds until it frees up"}
        documented[429]["headers"] = {"Retry-After": seconds}
    return documented
