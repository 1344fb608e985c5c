"""``Authorization: Bearer <key>`` on every route but health and metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.errors import UNAUTHORIZED, ApiError
from service.store.api_keys import ApiKeys, Caller

bearer = HTTPBearer(auto_error=False, description="An API key made with `intake keys create NAME`.")
SECURITY: list[dict[str, list[str]]] = [
    {"HTTPBearer": []}
]  # what a route checking keys itself declares in the schema


async def caller_of(keys: ApiKeys, authorization: str | None) -> Caller:
    """The caller whose key the Authorization header carries; ApiError 401 if none."""
    scheme, _, key = (authorization or "").partition(" ")
    caller = await keys.verify(key.strip()) if scheme.lower() == "bearer" and key else None
    if caller is None:
        raise ApiError(401, "unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return caller


def authenticator(keys: ApiKeys) -> Callable[..., Awaitable[Caller]]:
    """A dependency checking the key (and declaring bearer auth in the schema)."""

    async def authenticate(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Caller:
        if credentials is None:
            return await caller_of(keys, None)
        return await caller_of(keys, f"Bearer {credentials.credentials}")

    return authenticate
