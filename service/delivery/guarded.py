"""The webhook client's connections, checked where they are made (against DNS rebinding).

Settings and ``intake deliver``'s start check each endpoint's host, but a name can be
re-pointed at an internal address afterwards. So the HTTP client resolves each host
itself, refuses the connection if any address is one ``service.webhook_targets`` forbids,
and connects to the address it checked (never resolving the name a second time). TLS
still verifies the certificate against the URL's host name. Redirects are not followed
(``http_client``), and proxies from the environment are ignored: they would connect for us.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from service.errors import ConfigError
from service.webhook_targets import IPAddress, literal_address, resolved_refusal

if TYPE_CHECKING:
    from service.settings import EndpointSettings

# The start of a refused connection's message, so the dispatcher can say why it failed.
BLOCKED = "blocked:"

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system resolver (getaddrinfo, in a thread)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = literal_address(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, dialling only addresses the target rule allows."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private, self._resolve = allow_private, resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = literal_address(host)
        try:
            addresses = [literal] if literal is not None else await self._resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve the host: {exc.strerror}") from None
        if not addresses:
            raise httpcore.ConnectError("the host has no address")
        problem = resolved_refusal(host, addresses, allow_private=self._allow_private)
        if problem:
            raise httpcore.ConnectError(f"{BLOCKED} the host resolves to {problem}")
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = httpcore.ConnectError(str(exc))
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError(f"{BLOCKED} webhooks do not go to local sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport over a ``GuardedBackend``. httpx takes no network backend,
    so its connection pool is made again with one (the same arguments httpx passes)."""

    def __init__(
        self, limits: httpx.Limits, *, allow_private: bool, resolver: Resolver = system_resolver
    ) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


def blocked_reason(exc: httpx.HTTPError) -> str | None:
    """Why a connection was refused by the guard, or None if it failed for another reason."""
    text = str(exc)
    return text if isinstance(exc, httpx.ConnectError) and text.startswith(BLOCKED) else None


async def check_endpoint_hosts(
    endpoints: Iterable[EndpointSettings],
    *,
    allow_private: bool,
    resolver: Resolver = system_resolver,
    timeout: float = 5.0,
) -> None:
    """At the deliverer's start: ConfigError, naming the endpoint, if a host resolves to an
    address the rule forbids. A name that does not resolve now is left to connect time."""
    for position, endpoint in enumerate(endpoints):
        url = httpx.URL(endpoint.url)
        if literal_address(url.host) is not None:
            continue  # judged when the settings loaded
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolver(url.host, url.port or 443)
        except (OSError, TimeoutError):
            continue
        problem = resolved_refusal(url.host, addresses, allow_private=allow_private)
        if problem:
            raise ConfigError(
                f"INTAKE_WEBHOOKS__ENDPOINTS: [{position}.url]: the host resolves to {problem}"
            )
